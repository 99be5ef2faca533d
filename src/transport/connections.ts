/**
 * The transport's connections: one keep-alive undici Pool per origin, and which of the
 * configured servers is currently preferred. A server that fails to connect or answers
 * 502/503/504 loses the preference to the next one; a server that answers keeps it.
 */
import { rootCertificates } from 'node:tls'
import { Pool } from 'undici'
import type { ResolvedTransportOptions, ServerTarget } from './options.js'

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

export class Connections {
  readonly servers: readonly ServerTarget[]
  private readonly pools = new Map<string, Pool>()
  private preferred = 0

  constructor(options: ResolvedTransportOptions) {
    this.servers = options.servers
    for (const server of options.servers) {
      if (this.pools.has(server.origin)) continue
      this.pools.set(
        server.origin,
        new Pool(server.origin, {
          connections: options.connections,
          ...(server.https ? { connect: connectOptions(options) } : {}),
        }),
      )
    }
  }

  /** Index of the server a call starts with. */
  first(): number {
    return this.preferred
  }

  pool(server: ServerTarget): Pool {
    return this.pools.get(server.origin) as Pool
  }

  /** The server answered: calls keep going there. */
  answered(index: number): void {
    this.preferred = index
  }

  /** The server failed in a way another may not: move on, unless a concurrent call already did. */
  failed(index: number): void {
    if (this.preferred === index) this.preferred = (index + 1) % this.servers.length
  }

  /** Destroys every pool (aborting what is in flight). Never rejects. */
  async destroy(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => undefined)))
  }
}
