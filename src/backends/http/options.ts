/** Options of the protocol v1 backend, validated when it is created. */
import { InvalidArgumentError } from '../../errors.js'
import { replaceableLogger, resolveLoggerOption, silentLogger, type Logger } from '../../internal/logger.js'
import { createTransport } from '../../transport/index.js'
import { checkKnownKeys } from '../../transport/options.js'
import type { TlsOptions, Transport } from '../../transport/types.js'
import { MuxTargets } from './mux-targets.js'

export interface HttpBackendOptions {
  /** Base URL of a protocol v1 server (a path prefix is allowed), or several for failover. */
  readonly server: string | readonly string[]
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string
  readonly tls?: TlsOptions
  /** Deadline of each single call. Default 5,000 ms. Blocking watch calls get `watchWaitMs` on top. */
  readonly requestTimeoutMs?: number
  /** Cap on one answer's body. Default 4 MiB. */
  readonly maxResponseBytes?: number
  /**
   * How long the server may hold a watch request (`wait`). Default 10,000 ms; at most
   * 300,000. It bounds how long a hung server goes unnoticed: `wait × 17/16 + watchGraceMs`.
   */
  readonly watchWaitMs?: number
  /**
   * Allowance past `wait × 17/16` (the server's jitter) before a blocking query that got no
   * answer counts as a dead connection: aborted, its server marked failed, retried on
   * another. Default 2,000 ms.
   */
  readonly watchGraceMs?: number
  /** Connections per server for unary calls (registration, heartbeats, reads, writes). Default 16. */
  readonly connections?: number
  /** Connections per server for held blocking queries, apart from unary calls. Default 1,024. */
  readonly heldConnections?: number
  /** Cap of one attempt on one server (default: the deadline shared among the servers left). */
  readonly attemptTimeoutMs?: number
  /** Circuit breaker of each server: cool-down after a failure. Default 1,000 ms doubling to 30,000 ms. */
  readonly breaker?: { readonly cooldownMs?: number; readonly maxCooldownMs?: number }
  /** Default: the client's logger (via useLogger), else silent; `false` keeps it silent. */
  readonly logger?: Logger | false
  /**
   * Carry every watch on one `POST /v1/watch` stream when the server offers it (protocol
   * section 4.1); per-resource blocking queries otherwise. Default true.
   */
  readonly watchMux?: boolean
  /** Keep-alive interval asked of the multiplexed watch; silence past 2× this + 1 s is a dead connection. Default 3,000 ms. */
  readonly watchKeepAliveMs?: number
  /**
   * A transport to use instead of creating one (tests, shared connections). The backend
   * does not close a transport it was given; `server`, `token`, `tls` and the transport
   * options above are then ignored.
   */
  readonly transport?: Transport
}

export interface ResolvedHttpBackendOptions {
  readonly transport: Transport
  readonly ownsTransport: boolean
  readonly requestTimeoutMs: number
  readonly watchWaitMs: number
  readonly watchGraceMs: number
  readonly logger: Logger
  readonly watchMux: boolean
  readonly watchKeepAliveMs: number
  /** Where the multiplexed watch connects (made once per backend). */
  readonly muxTargets: () => MuxTargets
}

export const DEFAULT_WATCH_WAIT_MS = 10_000
export const DEFAULT_WATCH_GRACE_MS = 2_000
export const MAX_WATCH_WAIT_MS = 300_000
const DEFAULT_TIMEOUT_MS = 5_000
export const DEFAULT_WATCH_KEEP_ALIVE_MS = 3_000

function positive(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || value > max) {
    throw new InvalidArgumentError(`httpBackend: ${name} must be an integer in [1, ${max}], got ${JSON.stringify(value) ?? String(value)}`)
  }
  return value
}

const KNOWN_KEYS = [
  'server',
  'token',
  'tls',
  'requestTimeoutMs',
  'maxResponseBytes',
  'watchWaitMs',
  'watchGraceMs',
  'connections',
  'heldConnections',
  'attemptTimeoutMs',
  'breaker',
  'logger',
  'watchMux',
  'watchKeepAliveMs',
  'transport',
]

export function resolveHttpBackendOptions(options: HttpBackendOptions): ResolvedHttpBackendOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('httpBackend needs an options object')
  checkKnownKeys('httpBackend: ', options, KNOWN_KEYS)
  const requestTimeoutMs = options.requestTimeoutMs === undefined ? DEFAULT_TIMEOUT_MS : positive('requestTimeoutMs', options.requestTimeoutMs)
  const watchWaitMs = options.watchWaitMs === undefined ? DEFAULT_WATCH_WAIT_MS : positive('watchWaitMs', options.watchWaitMs, MAX_WATCH_WAIT_MS)
  const watchGraceMs = options.watchGraceMs === undefined ? DEFAULT_WATCH_GRACE_MS : positive('watchGraceMs', options.watchGraceMs)
  const logger = resolveLoggerOption(options.logger) ?? replaceableLogger(silentLogger)
  if (options.watchMux !== undefined && typeof options.watchMux !== 'boolean') {
    throw new InvalidArgumentError(`httpBackend: watchMux must be true or false, got ${JSON.stringify(options.watchMux) ?? String(options.watchMux)}`)
  }
  const watch = {
    watchMux: options.watchMux ?? true,
    // The server takes 100–60,000 ms (protocol section 4.1).
    watchKeepAliveMs: options.watchKeepAliveMs === undefined ? DEFAULT_WATCH_KEEP_ALIVE_MS : positive('watchKeepAliveMs', options.watchKeepAliveMs, 60_000),
  }
  if (watch.watchKeepAliveMs < 100) throw new InvalidArgumentError(`httpBackend: watchKeepAliveMs must be at least 100, got ${watch.watchKeepAliveMs}`)
  if (options.transport !== undefined) {
    if (typeof options.transport?.request !== 'function') throw new InvalidArgumentError('httpBackend: transport must be a Transport')
    const given = options.transport
    return { transport: given, ownsTransport: false, requestTimeoutMs, watchWaitMs, watchGraceMs, logger, ...watch, muxTargets: () => new MuxTargets([() => given], false) }
  }
  const servers = typeof options.server === 'string' ? [options.server] : options.server
  if (!Array.isArray(servers)) {
    throw new InvalidArgumentError(`httpBackend: server must be a URL or an array of URLs, got ${JSON.stringify(options.server) ?? String(options.server)}`)
  }
  const shared = {
    requestTimeoutMs,
    logger,
    ...(options.token !== undefined && { token: options.token }),
    ...(options.tls !== undefined && { tls: options.tls }),
    ...(options.maxResponseBytes !== undefined && { maxResponseBytes: options.maxResponseBytes }),
    ...(options.attemptTimeoutMs !== undefined && { attemptTimeoutMs: options.attemptTimeoutMs }),
    ...(options.breaker !== undefined && { breaker: options.breaker }),
  }
  // createTransport validates the URLs, the token, tls and the sizes, naming each option.
  const transport = createTransport({
    servers,
    ...shared,
    ...(options.connections !== undefined && { connections: options.connections }),
    ...(options.heldConnections !== undefined && { heldConnections: options.heldConnections }),
  })
  // The held watch stream: one connection per server of its own, apart from unary calls.
  const muxTargets = (): MuxTargets => new MuxTargets(servers.map((url: string) => () => createTransport({ servers: [url], connections: 1, ...shared })), true)
  return { transport, ownsTransport: true, requestTimeoutMs, watchWaitMs, watchGraceMs, logger, ...watch, muxTargets }
}

/** `wait` as protocol v1 spells it: whole seconds when possible ("60s"), else milliseconds. */
export function formatWait(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}
