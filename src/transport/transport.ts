/**
 * The undici transport: deadlines, retries with full-jitter backoff (p-retry), failover
 * over several servers, auth, a body-size cap and JSON decoding into typed errors.
 *
 * A call's deadline covers everything (every attempt, every backoff sleep); each attempt
 * simply runs until the call's one signal fires. Retries happen only for idempotent calls
 * and retryable failures, except that a connect failure (nothing sent) is retried for any
 * method.
 */
import pRetry from 'p-retry'
import { ClientClosedError, TimeoutError, isGovernanceError, toGovernanceError, type GovernanceError } from '../errors.js'
import { fullJitterDelay } from '../internal/backoff.js'
import { decodeJson, decodeText, tryParseJson } from './body.js'
import { dispatchBuffered, type BufferedAnswer } from './buffered.js'
import { CallScope } from './call-scope.js'
import { Connections } from './connections.js'
import { failureInfo, mapStatus, parseRetryAfter, parseServerError, type CallTarget } from './error-map.js'
import { failure, withFailover, type ExchangeEnv } from './exchange.js'
import {
  checkPositive,
  checkRequestShape,
  resolveRetryPolicy,
  resolveTransportOptions,
  type ResolvedTransportOptions,
  type ServerTarget,
} from './options.js'
import { prepareRequest, type PreparedRequest } from './prepare.js'
import { openStream } from './stream.js'
import type { JsonStream, RequestOptions, RetryPolicy, StreamOptions, Transport, TransportOptions, TransportResponse } from './types.js'

/** Creates a transport. Options are validated now; no connection is opened until the first call. */
export function createTransport(options: TransportOptions): Transport {
  return new UndiciTransport(resolveTransportOptions(options))
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
  readonly idempotent: boolean
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
      const call: Call = { env, prepared: prepareRequest(this.options, options), options, idempotent: options.idempotent ?? options.method !== 'POST' }
      try {
        return await this.attempt<T>(call)
      } catch (error) {
        // p-retry is entered only after a first failure worth retrying: it costs ~3 µs per
        // call, which the common, successful call does not pay.
        const policy = options.retry === false ? undefined : this.retryPolicy(options.retry)
        if (policy === undefined || policy.retries === 0 || !(await this.beforeRetry(error, 0, 1, call, policy))) throw error
        return await pRetry(() => this.attempt<T>(call), {
          retries: policy.retries - 1,
          minTimeout: 0, // the delay is ours (full jitter or Retry-After), slept in shouldRetry
          signal: env.scope.signal,
          shouldRetry: (c) => this.beforeRetry(c.error, c.retriesConsumed + 1, c.attemptNumber + 1, call, policy),
        })
      }
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

  /** One attempt: the preferred server, then the others when failing over makes sense. */
  private attempt<T>(call: Call): Promise<TransportResponse<T>> {
    return withFailover(call.env, call.idempotent, (server) => this.exchange<T>(call, server))
  }

  private async exchange<T>(call: Call, server: ServerTarget): Promise<TransportResponse<T>> {
    const { env, options, prepared } = call
    const target: CallTarget = { method: prepared.method, url: server.base + prepared.pathAndQuery }
    env.lastTarget = target
    let answer: BufferedAnswer
    try {
      answer = await dispatchBuffered(
        this.connections.pool(server),
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
        env.scope,
      )
    } catch (error) {
      throw failure(env, error, target)
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

  /**
   * Decides whether to try again after `error`, and if so sleeps the backoff first (so
   * p-retry's own delay stays 0). `retriesConsumed` counts from 0 for the first retry.
   */
  private async beforeRetry(error: unknown, retriesConsumed: number, attempt: number, call: Call, policy: RetryPolicy): Promise<boolean> {
    const info = failureInfo(error)
    if (info === undefined || !info.transient || !(call.idempotent || info.beforeSend)) return false
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
    if (options.maxFrameBytes !== undefined) checkPositive('maxFrameBytes', options.maxFrameBytes)
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
