/** Options of the protocol v1 backend, validated when it is created. */
import { replaceableLogger, resolveLoggerOption, silentLogger, type Logger } from '../../internal/logger.js'
import { bool, durationMs, failOption, list, objectOption } from '../../internal/options-kit.js'
import { createTransportFor } from '../../transport/index.js'
import { parseServer } from '../../transport/options.js'
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
  const o = objectOption('http', options, KNOWN_KEYS, { required: true })
  const requestTimeoutMs = durationMs('http.requestTimeoutMs', o.requestTimeoutMs, { default: DEFAULT_TIMEOUT_MS })
  const watchWaitMs = durationMs('http.watchWaitMs', o.watchWaitMs, { default: DEFAULT_WATCH_WAIT_MS, max: MAX_WATCH_WAIT_MS })
  const watchGraceMs = durationMs('http.watchGraceMs', o.watchGraceMs, { default: DEFAULT_WATCH_GRACE_MS })
  const logger = resolveLoggerOption(o.logger, 'http.logger') ?? replaceableLogger(silentLogger)
  const watch = {
    watchMux: bool('http.watchMux', o.watchMux, true),
    // The server takes 100–60,000 ms (protocol section 4.1).
    watchKeepAliveMs: durationMs('http.watchKeepAliveMs', o.watchKeepAliveMs, { default: DEFAULT_WATCH_KEEP_ALIVE_MS, min: 100, max: 60_000 }),
  }
  if (options.transport !== undefined) {
    if (typeof options.transport?.request !== 'function') failOption('http.transport', 'must be a Transport (request, stream, close)', options.transport)
    const given = options.transport
    return { transport: given, ownsTransport: false, requestTimeoutMs, watchWaitMs, watchGraceMs, logger, ...watch, muxTargets: () => new MuxTargets([() => given], false) }
  }
  const servers = list('http.server', options.server, (path, url) => parseServer(path, url).base, { single: true })
  const shared = {
    requestTimeoutMs,
    logger,
    ...(options.token !== undefined && { token: options.token }),
    ...(options.tls !== undefined && { tls: options.tls }),
    ...(options.maxResponseBytes !== undefined && { maxResponseBytes: options.maxResponseBytes }),
    ...(options.attemptTimeoutMs !== undefined && { attemptTimeoutMs: options.attemptTimeoutMs }),
    ...(options.breaker !== undefined && { breaker: options.breaker }),
  }
  // The transport checks the token, tls, sizes and breaker, naming them `http.<option>`.
  const transport = createTransportFor('http', {
    servers,
    ...shared,
    ...(options.connections !== undefined && { connections: options.connections }),
    ...(options.heldConnections !== undefined && { heldConnections: options.heldConnections }),
  })
  // The held watch stream: one connection per server of its own, apart from unary calls.
  const muxTargets = (): MuxTargets => new MuxTargets(servers.map((url: string) => () => createTransportFor('http', { servers: [url], connections: 1, ...shared })), true)
  return { transport, ownsTransport: true, requestTimeoutMs, watchWaitMs, watchGraceMs, logger, ...watch, muxTargets }
}

/** `wait` as protocol v1 spells it: whole seconds when possible ("60s"), else milliseconds. */
export function formatWait(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}
