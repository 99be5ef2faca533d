/**
 * Connection limits before any byte is parsed: a total cap and one per client address.
 * A connection past either is answered 429 `rate_limited` with `Retry-After` and closed at
 * once, so slow or idle connections of one client cannot use up the descriptors the
 * others need. Refusals are counted and logged (rate-limited) through ServerStats.
 */
import type { Socket } from 'node:net'
import { rawErrorResponse } from './raw-response.js'
import type { ServerStats } from './server-stats.js'

export interface ConnectionLimits {
  readonly maxConnections: number
  readonly maxConnectionsPerClient: number
}

/** How long a refused socket may take to take its 429 before it is destroyed anyway. */
const REFUSED_LINGER_MS = 1_000

export class ConnectionGuard {
  readonly #perClient = new Map<string, number>()
  readonly #limits: ConnectionLimits
  readonly #stats: ServerStats
  #open = 0

  constructor(limits: ConnectionLimits, stats: ServerStats) {
    this.#limits = limits
    this.#stats = stats
  }

  /** Admits or refuses a new connection; call from the server's 'connection' event. */
  admit(socket: Socket): void {
    const client = socket.remoteAddress ?? ''
    const mine = this.#perClient.get(client) ?? 0
    const overTotal = this.#open >= this.#limits.maxConnections
    if (overTotal || mine >= this.#limits.maxConnectionsPerClient) {
      this.#refuse(socket, client, overTotal)
      return
    }
    this.#open += 1
    this.#stats.connections = this.#open
    this.#perClient.set(client, mine + 1)
    socket.once('close', () => {
      this.#open -= 1
      this.#stats.connections = this.#open
      const left = (this.#perClient.get(client) ?? 1) - 1
      if (left <= 0) this.#perClient.delete(client)
      else this.#perClient.set(client, left)
    })
  }

  #refuse(socket: Socket, client: string, overTotal: boolean): void {
    const [stat, limit] = overTotal ? (['connectionsRefused', 'maxConnections'] as const) : (['connectionsRefusedPerClient', 'maxConnectionsPerClient'] as const)
    this.#stats.refuse(stat, `connection refused: ${limit} reached`, { client, limit: this.#limits[limit] })
    socket.on('error', () => {})
    const message = `too many connections${overTotal ? '' : ' from this client'} (${limit}); retry later`
    // Free the descriptor as soon as the answer is with the kernel: under a flood, refused
    // sockets that linger fill the descriptor table, and libuv then drops every new
    // connection (legitimate ones too) at accept. Reading what the client sent first lets
    // close() deliver the 429 with a FIN instead of a reset.
    socket.resume()
    socket.end(rawErrorResponse(429, { code: 'rate_limited', message, limit }, { 'retry-after': '1' }), () => socket.destroy())
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref()
  }
}
