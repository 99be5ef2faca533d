/**
 * Where the multiplexed watch connects. With server URLs, one small transport per server,
 * made on first use: the held stream gets a connection of its own (it never waits behind
 * unary calls, nor they behind it), and the stream chooses the server itself, so a server
 * that froze is left for the next one. With a transport given by the user, that one.
 */
import type { Transport } from '../../transport/types.js'

export class MuxTargets {
  readonly #make: readonly (() => Transport)[]
  readonly #made = new Map<number, Transport>()
  readonly #owned: boolean

  /** `owned`: the transports come from `make` and are closed with the targets. */
  constructor(make: readonly (() => Transport)[], owned: boolean) {
    this.#make = make
    this.#owned = owned
  }

  get count(): number {
    return this.#make.length
  }

  get(index: number): Transport {
    let transport = this.#made.get(index)
    if (transport === undefined) {
      transport = this.#make[index]!()
      this.#made.set(index, transport)
    }
    return transport
  }

  async close(): Promise<void> {
    if (this.#owned) await Promise.all([...this.#made.values()].map((t) => t.close()))
    this.#made.clear()
  }
}
