/**
 * The failover pass over the configured servers (request() and stream()), and the
 * streamed exchange stream() makes with one server. request()'s buffered exchange is in
 * buffered.ts; retries with backoff sit on top (transport.ts).
 */
import type { Dispatcher } from 'undici'
import type { GovernanceError } from '../errors.js'
import { readErrorText, tryParseJson } from './body.js'
import { CallScope } from './call-scope.js'
import type { Connections } from './connections.js'
import { attemptTimeout, failureInfo, mapNetworkError, mapStatus, parseRetryAfter, parseServerError, type CallTarget } from './error-map.js'
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

/** What a failed exchange throws: the call's (or the attempt's) abort reason wins over the failure it caused. */
export function failure(env: ExchangeEnv, error: unknown, target: CallTarget, scope: CallScope = env.scope): unknown {
  if (env.scope.aborted) return env.scope.reason
  return scope.aborted ? scope.reason : mapNetworkError(error, target, env.isClosed())
}

/** Sends a held request (a stream) on the held pool; `release` gives its connection slot back. */
export async function sendHeld(env: ExchangeEnv, server: ServerTarget, prepared: PreparedRequest, scope: CallScope): Promise<Sent & { release: () => void }> {
  const target: CallTarget = { method: prepared.method, url: server.base + prepared.pathAndQuery }
  env.lastTarget = target
  if (scope.aborted) throw scope.reason
  const { pool, release } = env.connections.acquireHeld(server)
  try {
    const response = await pool.request({
      path: server.prefix + prepared.pathAndQuery,
      method: prepared.method,
      headers: prepared.headers,
      body: prepared.body ?? null,
      signal: scope.undiciSignal(),
      headersTimeout: 0,
      bodyTimeout: 0,
    })
    return { response, target, server, release }
  } catch (error) {
    release()
    throw failure(env, error, target, scope)
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

export interface FailoverPlan {
  /** Safe to repeat on another server after it may have been sent. */
  readonly idempotent: boolean
  /**
   * Share the call's deadline among the servers still to try, so that a hung one leaves
   * time for the next. False for held requests: the server may hold them to the deadline.
   */
  readonly split: boolean
  /** Cap of one attempt (the transport's attemptTimeoutMs). */
  readonly attemptTimeoutMs: number | undefined
  /** Keep the winning attempt's scope alive after it resolves (a stream reads on under it). */
  readonly keep?: boolean
}

/**
 * Runs `attempt` against the servers in the breaker's order while the failure is one
 * another server may not have (connect failure, 502/503/504, no answer within the
 * attempt's share of the deadline) and it is safe to repeat (idempotent, or nothing was
 * sent). A server that fails that way, or holds the call past its deadline, is marked
 * failed before the error goes up. Throws the last failure.
 */
export async function withFailover<R>(env: ExchangeEnv, plan: FailoverPlan, attempt: (server: ServerTarget, scope: CallScope) => Promise<R>): Promise<R> {
  const { connections } = env
  const order = connections.order()
  let last: unknown
  for (let i = 0; i < order.length; i++) {
    const index = order[i] as number
    const server = connections.servers[index] as ServerTarget
    const scope = attemptScope(env, plan, connections.usableFrom(order, i))
    connections.trying(index)
    try {
      const result = await attempt(server, scope)
      connections.answered(index)
      if (plan.keep === true) scope.clearDeadline()
      else if (scope !== env.scope) scope.dispose()
      return result
    } catch (error) {
      if (scope !== env.scope) scope.dispose()
      if (env.scope.aborted) {
        // The call's own deadline passed on this server: it is hung as far as we know.
        if (env.scope.expired) connections.failed(index)
        throw env.scope.reason
      }
      const info = failureInfo(error)
      if (info?.failover) connections.failed(index)
      else connections.answered(index)
      if (!info?.failover || !(plan.idempotent || info.beforeSend)) throw error
      last = error
    }
  }
  throw last as GovernanceError
}

/** The call's scope, or a child with a deadline of its own when the attempt gets only a share. */
function attemptScope(env: ExchangeEnv, plan: FailoverPlan, serversLeft: number): CallScope {
  if (!plan.split) return env.scope
  const remaining = env.scope.remaining()
  let share = serversLeft > 1 ? remaining / serversLeft : remaining
  if (plan.attemptTimeoutMs !== undefined) share = Math.min(share, plan.attemptTimeoutMs)
  if (!(share < remaining)) return env.scope
  const ms = Math.max(1, Math.floor(share))
  // env.lastTarget names this server's URL by the time the timer fires.
  return new CallScope(ms, env.scope.signal, () => attemptTimeout(env.lastTarget, ms))
}
