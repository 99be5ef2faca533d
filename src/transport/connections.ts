/**
 * The transport's connections and which server a call tries first.
 *
 * Two undici Pools per origin: one for unary calls (registration, heartbeats, reads,
 * writes, metric exports) and one for held requests (blocking queries, watch streams), so
 * that however many watches a client holds, its heartbeats never queue behind them.
 *
 * Each server has a circuit breaker (server-health.ts). Calls start at the server that
 * answered last; open servers come after every closed one; a server whose cool-down has
 * passed is tried by one call at a time (half-open) until it answers again.
 */
import { rootCertificates } from 'node:tls'
import { Pool } from 'undici'
import { RequestRejectedError } from '../errors.js'
import type { ResolvedTransportOptions, ServerTarget } from './options.js'
import { ServerHealth } from './server-health.js'

function connectOptions(options: ResolvedTransportOptions): Record<string, unknown> {
  const tls = options.tls
  // Certificates are always verified: there is deliberately no way to turn this off.
  const connect: Record<string, unknown> = { rejectUnauthorized: true }
  if (tls === undefined) return connect
  if (tls.ca !== undefined) {
    // Node's `ca` replaces the public roots; the option promises *extra* CAs, so keep both.
    const extra = Array.isArray(tls.ca) ? tls.ca : [tls.ca]
    connect.ca = [...rootCertificates, ...extra]
  }
  if (tls.cert !== undefined) connect.cert = tls.cert
  if (tls.key !== undefined) connect.key = tls.key
  if (tls.servername !== undefined) connect.servername = tls.servername
  return connect
}

interface OriginPools {
  readonly unary: Pool
  held: Pool | undefined
  /** Held requests in flight on this origin (each holds one connection). */
  heldInFlight: number
}

export class Connections {
  readonly servers: readonly ServerTarget[]
  private readonly origins = new Map<string, OriginPools>()
  private readonly health: ServerHealth[]
  private preferred = 0

  constructor(private readonly options: ResolvedTransportOptions) {
    this.servers = options.servers
    this.health = options.servers.map(() => new ServerHealth(options.breaker))
    for (const server of options.servers) {
      if (this.origins.has(server.origin)) continue
      this.origins.set(server.origin, { unary: this.newPool(server, options.connections), held: undefined, heldInFlight: 0 })
    }
  }

  private newPool(server: ServerTarget, connections: number): Pool {
    return new Pool(server.origin, { connections, ...(server.https ? { connect: connectOptions(this.options) } : {}) })
  }

  /**
   * The servers in the order a call tries them: from the preferred one on, closed
   * breakers first, then open ones (oldest failure first) as a last resort. A half-open
   * server already being probed by another call goes to the back too.
   */
  order(): number[] {
    const count = this.servers.length
    if (count === 1) return [0]
    const now = Date.now()
    const ready: number[] = []
    const later: number[] = []
    for (let i = 0; i < count; i++) {
      const index = (this.preferred + i) % count
      if ((this.health[index] as ServerHealth).usable(now)) ready.push(index)
      else later.push(index)
    }
    later.sort((a, b) => (this.health[a] as ServerHealth).openedAt - (this.health[b] as ServerHealth).openedAt)
    return ready.concat(later)
  }

  /** How many of `order` from position `from` on are not known to be failing. */
  usableFrom(order: readonly number[], from: number): number {
    const now = Date.now()
    let n = 0
    for (let i = from; i < order.length; i++) if ((this.health[order[i] as number] as ServerHealth).usable(now)) n++
    return Math.max(1, n)
  }

  /** A call is about to try server `index`: a half-open breaker lets this one call probe. */
  trying(index: number): void {
    ;(this.health[index] as ServerHealth).trying(Date.now())
  }

  pool(server: ServerTarget): Pool {
    return (this.origins.get(server.origin) as OriginPools).unary
  }

  /**
   * The pool of held requests, taking one of `heldConnections`; call the returned release
   * when the request ends. Past the cap it throws instead of queueing in silence: a held
   * request could wait there for ever.
   */
  acquireHeld(server: ServerTarget): { pool: Pool; release: () => void } {
    const entry = this.origins.get(server.origin) as OriginPools
    const cap = this.options.heldConnections
    if (entry.heldInFlight >= cap) {
      const message = `${server.base}: ${cap} held requests (watches, blocking queries) are already open; raise heldConnections or watch fewer resources`
      this.options.logger.warn('transport: held-connection limit reached', { server: server.base, heldConnections: cap })
      throw new RequestRejectedError(message, { details: { server: server.base, heldConnections: cap, limit: 'heldConnections' } })
    }
    entry.held ??= this.newPool(server, cap)
    entry.heldInFlight++
    let released = false
    return {
      pool: entry.held,
      release: () => {
        if (released) return
        released = true
        entry.heldInFlight--
      },
    }
  }

  /** Held requests in flight per origin (tests, benchmarks). */
  heldInFlight(): number {
    let n = 0
    for (const entry of this.origins.values()) n += entry.heldInFlight
    return n
  }

  /** The server answered: calls keep going there and its breaker closes. */
  answered(index: number): void {
    ;(this.health[index] as ServerHealth).succeeded()
    this.preferred = index
  }

  /**
   * The server failed in a way another may not (connect failure, 502/503/504, no answer
   * in time): its breaker opens and calls move on, unless a concurrent call already did.
   */
  failed(index: number): void {
    const health = this.health[index] as ServerHealth
    const wasOpen = !health.closed
    health.failed(Date.now())
    if (!wasOpen) this.options.logger.warn('transport: server marked failed', { server: (this.servers[index] as ServerTarget).base })
    if (this.preferred === index && this.servers.length > 1) this.preferred = this.order()[0] as number
  }

  /** Destroys every pool (aborting what is in flight). Never rejects. */
  async destroy(): Promise<void> {
    const pools = [...this.origins.values()].flatMap((e) => (e.held === undefined ? [e.unary] : [e.unary, e.held]))
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)))
  }
}
