/**
 * The failover pass over the configured servers (request() and stream()), and the
 * streamed exchange stream() makes with one server. request()'s buffered exchange is in
 * buffered.ts; retries with backoff sit on top (transport.ts).
 */
import type { Dispatcher } from 'undici'
import type { GovernanceError } from '../errors.js'
import { readErrorText, tryParseJson } from './body.js'
import type { CallScope } from './call-scope.js'
import type { Connections } from './connections.js'
import { failureInfo, mapNetworkError, mapStatus, parseRetryAfter, parseServerError, type CallTarget } from './error-map.js'
import type { ServerTarget } from './options.js'
import type { PreparedRequest } from './prepare.js'

export interface Sent {
  readonly response: Dispatcher.ResponseData
  readonly target: CallTarget
  readonly server: ServerTarget
}

export interface ExchangeEnv {
  readonly connections: Connections
  readonly scope: CallScope
  readonly isClosed: () => boolean
  /** Updated on every attempt, so that a timeout can name the URL it gave up on. */
  lastTarget: CallTarget
}

/** What a failed exchange throws: the call's own abort reason wins over the failure it caused. */
export function failure(env: ExchangeEnv, error: unknown, target: CallTarget): unknown {
  return env.scope.aborted ? env.scope.reason : mapNetworkError(error, target, env.isClosed())
}

export async function send(
  env: ExchangeEnv,
  server: ServerTarget,
  prepared: PreparedRequest,
  timeouts?: { readonly headersTimeout: number; readonly bodyTimeout: number },
): Promise<Sent> {
  const target: CallTarget = { method: prepared.method, url: server.base + prepared.pathAndQuery }
  env.lastTarget = target
  if (env.scope.aborted) throw env.scope.reason
  try {
    const response = await env.connections.pool(server).request({
      path: server.prefix + prepared.pathAndQuery,
      method: prepared.method,
      headers: prepared.headers,
      body: prepared.body ?? null,
      signal: env.scope.undiciSignal(),
      ...timeouts,
    })
    return { response, target, server }
  } catch (error) {
    throw failure(env, error, target)
  }
}

/** Reads an error answer's text and throws the status's GovernanceError. */
export async function rejectStatus(env: ExchangeEnv, sent: Sent): Promise<never> {
  const { statusCode, headers, body } = sent.response
  const text = await readErrorText(body)
  if (env.scope.aborted) throw env.scope.reason
  const retryAfter = headers['retry-after']
  throw mapStatus(statusCode, sent.target, parseServerError(tryParseJson(text), text), parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : undefined))
}

/**
 * Runs `attempt` against the preferred server, then each other one in turn while the
 * failure is one another server may not have (connect failure, 502/503/504) and it is
 * safe to repeat (idempotent, or nothing was sent). Throws the last failure.
 */
export async function withFailover<R>(env: ExchangeEnv, idempotent: boolean, attempt: (server: ServerTarget) => Promise<R>): Promise<R> {
  const { connections } = env
  const count = connections.servers.length
  const first = connections.first()
  let last: unknown
  for (let i = 0; i < count; i++) {
    const index = (first + i) % count
    try {
      const result = await attempt(connections.servers[index] as ServerTarget)
      connections.answered(index)
      return result
    } catch (error) {
      if (env.scope.aborted) throw env.scope.reason
      const info = failureInfo(error)
      if (info?.failover) connections.failed(index)
      else connections.answered(index)
      if (!info?.failover || !(idempotent || info.beforeSend)) throw error
      last = error
    }
  }
  throw last as GovernanceError
}
