/**
 * The undici transport: deadlines, retries with full-jitter backoff, failover over several
 * servers with a circuit breaker each, auth, a body-size cap and JSON decoding into typed
 * errors.
 *
 * A call's deadline covers everything (every attempt, every backoff sleep). With several
 * servers each attempt gets a share of what is left, so a server that hangs leaves time for
 * the next. Retries happen only for idempotent calls and retryable failures, except that a
 * connect failure (nothing sent) is retried for any method. Held requests (`held: true`,
 * streams) go through a connection pool of their own.
 */
import { ClientClosedError, TimeoutError, isGovernanceError, toGovernanceError, type GovernanceError } from '../errors.js'
import { fullJitterDelay } from '../internal/backoff.js'
import { decodeJson, decodeText, tryParseJson } from './body.js'
import { dispatchBuffered, type BufferedAnswer } from './buffered.js'
import { CallScope } from './call-scope.js'
import { Connections } from './connections.js'
import { failureInfo, mapStatus, parseRetryAfter, parseServerError, type CallTarget } from './error-map.js'
import { failure, withFailover, type ExchangeEnv, type FailoverPlan } from './exchange.js'
import {
  checkRequestShape,
  resolveRetryPolicy,
  resolveTransportOptions,
  type ResolvedTransportOptions,
  type ServerTarget,
} from './options.js'
import { positiveNumber } from '../internal/options-kit.js'
import { prepareRequest, type PreparedRequest } from './prepare.js'
import { openStream } from './stream.js'
import type { JsonStream, RequestOptions, RetryPolicy, StreamOptions, Transport, TransportOptions, TransportResponse } from './types.js'

/** Creates a transport. Options are validated now; no connection is opened until the first call. */
export function createTransport(options: TransportOptions): Transport {
  return new UndiciTransport(resolveTransportOptions(options))
}

/** createTransport() for a backend: messages name the backend's own options (`etcd.tls.cert`). */
export function createTransportFor(root: string, options: TransportOptions): Transport {
  return new UndiciTransport(resolveTransportOptions(options, root))
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const key of Object.keys(headers)) {
    const v = headers[key]
    out[key] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

/** One request() call, as every attempt of it sees it. */
interface Call {
  readonly env: ExchangeEnv
  readonly prepared: PreparedRequest
  readonly options: RequestOptions
  readonly plan: FailoverPlan
}

class UndiciTransport implements Transport {
  private readonly connections: Connections
  private readonly scopes = new Set<CallScope>()
  private readonly streams = new Set<{ close(): void }>()
  private closing: Promise<void> | undefined

  constructor(private readonly options: ResolvedTransportOptions) {
    this.connections = new Connections(options)
  }

  private readonly isClosed = (): boolean => this.closing !== undefined

  async request<T = unknown>(options: RequestOptions): Promise<TransportResponse<T>> {
    if (this.closing) throw new ClientClosedError(`${String(options?.method)} ${String(options?.path)}: the transport is closed`)
    checkRequestShape(options)
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs
    const env: ExchangeEnv = {
      connections: this.connections,
      scope: new CallScope(timeoutMs, options.signal, () => timeoutError(env.lastTarget, timeoutMs)),
      isClosed: this.isClosed,
      lastTarget: { method: options.method, url: options.path },
    }
    this.scopes.add(env.scope)
    try {
      if (env.scope.aborted) throw env.scope.reason
      const idempotent = options.idempotent ?? options.method !== 'POST'
      const plan: FailoverPlan = { idempotent, split: options.held !== true, attemptTimeoutMs: this.options.attemptTimeoutMs }
      return await this.withRetries<T>({ env, prepared: prepareRequest(this.options, options), options, plan })
    } catch (error) {
      throw this.finalError(error, env.scope)
    } finally {
      env.scope.dispose()
      this.scopes.delete(env.scope)
    }
  }

  private retryPolicy(override: Partial<RetryPolicy> | undefined): RetryPolicy {
    return override === undefined ? this.options.retry : resolveRetryPolicy('retry', override, this.options.retry)
  }

  /**
   * Attempts until one succeeds or the failure is not worth another: the decision, the
   * delay (full jitter, or the server's Retry-After) and the deadline are all the call's
   * own, so a plain loop says it better than a retry library's options would.
   */
  private async withRetries<T>(call: Call): Promise<TransportResponse<T>> {
    const policy = call.options.retry === false ? undefined : this.retryPolicy(call.options.retry)
    for (let retries = 0; ; retries++) {
      try {
        return await this.attempt<T>(call)
      } catch (error) {
        if (policy === undefined || retries >= policy.retries || !(await this.beforeRetry(error, retries, retries + 2, call, policy))) throw error
      }
    }
  }

  /** One attempt: the servers in the breaker's order, moving on when failing over makes sense. */
  private attempt<T>(call: Call): Promise<TransportResponse<T>> {
    return withFailover(call.env, call.plan, (server, scope) => this.exchange<T>(call, server, scope))
  }

  private async exchange<T>(call: Call, server: ServerTarget, scope: CallScope): Promise<TransportResponse<T>> {
    const { env, options, prepared } = call
    const target: CallTarget = { method: prepared.method, url: server.base + prepared.pathAndQuery }
    env.lastTarget = target
    let answer: BufferedAnswer
    const held = options.held === true ? this.connections.acquireHeld(server) : undefined
    try {
      answer = await dispatchBuffered(
        held?.pool ?? this.connections.pool(server),
        {
          origin: server.origin,
          path: server.prefix + prepared.pathAndQuery,
          method: prepared.method,
          headers: prepared.headers,
          body: prepared.body,
          limit: options.maxResponseBytes ?? this.options.maxResponseBytes,
          wanted: options.accept === undefined ? isSuccess : (s) => isSuccess(s) || options.accept!.includes(s),
          target,
        },
        scope,
      )
    } catch (error) {
      throw failure(env, error, target, scope)
    } finally {
      held?.release()
    }
    const { statusCode, headers, bytes } = answer
    if (!isSuccess(statusCode) && !options.accept?.includes(statusCode)) throw statusError(answer, target)
    const contentType = headers['content-type']
    return {
      status: statusCode,
      headers: flattenHeaders(headers),
      body: (options.text === true ? decodeText(bytes, target, statusCode) : decodeJson(bytes, target, statusCode, typeof contentType === 'string' ? contentType : undefined)) as T,
      server: server.base,
    }
  }

  /** Decides whether to try again after `error`, and if so sleeps the backoff first. `retriesConsumed` counts from 0. */
  private async beforeRetry(error: unknown, retriesConsumed: number, attempt: number, call: Call, policy: RetryPolicy): Promise<boolean> {
    const info = failureInfo(error)
    if (info === undefined || !info.transient || !(call.plan.idempotent || info.beforeSend)) return false
    const scope = call.env.scope
    if (scope.aborted) return false
    const remaining = scope.remaining()
    let delay: number
    if (info.retryAfterMs !== undefined) {
      // Waiting past the deadline would only turn the server's answer into a TimeoutError.
      if (info.retryAfterMs >= remaining) return false
      delay = info.retryAfterMs
    } else {
      // Leave at least half of what is left for the attempt itself.
      delay = Math.min(fullJitterDelay(retriesConsumed, policy), remaining / 2)
    }
    if (remaining <= 1) return false
    this.options.logger.debug('transport: retrying', { error: (error as Error).message, attempt, delayMs: Math.round(delay) })
    await scope.sleep(delay)
    return true
  }

  private finalError(error: unknown, scope: CallScope): unknown {
    // The caller's own reason is rethrown as is (api.md); a timeout or close is ours.
    if (scope.aborted) return scope.reason
    if (isGovernanceError(error)) return error
    return toGovernanceError(error, 'transport call failed')
  }

  async stream(options: StreamOptions): Promise<JsonStream> {
    if (this.closing) throw new ClientClosedError(`${String(options?.method)} ${String(options?.path)}: the transport is closed`)
    checkRequestShape(options)
    if (options.maxFrameBytes !== undefined) positiveNumber('maxFrameBytes', options.maxFrameBytes)
    return openStream({ connections: this.connections, isClosed: this.isClosed, options: this.options, track: this.streams }, options)
  }

  close(): Promise<void> {
    if (this.closing) return this.closing
    const reason = new ClientClosedError('the transport was closed')
    // Calls in flight or sleeping between retries end now, not when their deadline passes.
    for (const scope of this.scopes) scope.abort(reason)
    for (const stream of this.streams) stream.close()
    this.closing = this.connections.destroy()
    return this.closing
  }
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300
}

/** The GovernanceError of an unwanted status, with the server's own words when it gave any. */
function statusError(answer: BufferedAnswer, target: CallTarget): GovernanceError {
  const text = answer.bytes.toString('utf8')
  const retryAfter = answer.headers['retry-after']
  return mapStatus(answer.statusCode, target, parseServerError(tryParseJson(text), text), parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined))
}

function timeoutError(target: CallTarget, timeoutMs: number): TimeoutError {
  return new TimeoutError(`${target.method} ${target.url} did not finish within ${timeoutMs} ms`, {
    details: { url: target.url, method: target.method, timeoutMs },
  })
}
