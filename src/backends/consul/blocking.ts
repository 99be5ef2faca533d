/**
 * Consul's blocking-query rules (api-docs/features/blocking.mdx) as one watch step:
 * - send back the last `X-Consul-Index` seen as `index` (never <= 0: use 1);
 * - an answer does not mean a change: compare the data, and only confirm when it is equal;
 * - an index lower than the previous one (snapshot restore, …) resets the feed: the
 *   answer is delivered as a full replacement (`reset: true`) and the index starts over;
 * - rate limiting: the shared watch loop pauses after quick empty answers.
 */
import type { Watcher } from '../../backend.js'
import { ProtocolError } from '../../errors.js'
import type { WatchStep } from '../../internal/watch-loop.js'
import { canonicalJson } from '../seed/revisions.js'
import { confirm } from '../registry-common/watches.js'

export interface BlockingAnswer<T> {
  readonly value: T
  /** X-Consul-Index as given. */
  readonly index: string | undefined
}

export type BlockingRead<T> = (index: bigint | undefined, signal: AbortSignal) => Promise<BlockingAnswer<T>>

export function parseConsulIndex(raw: string | undefined, what: string): bigint {
  if (raw === undefined || !/^[0-9]{1,20}$/.test(raw)) throw new ProtocolError(`consul: ${what} answered without a valid X-Consul-Index (${JSON.stringify(raw)})`)
  const n = BigInt(raw)
  return n <= 0n ? 1n : n
}

export function blockingStep<T>(what: string, read: BlockingRead<T>, watcher: Watcher<T>): WatchStep<T> {
  let lastIndex: bigint | undefined
  let lastData: string | undefined
  return async (after, signal) => {
    if (lastIndex === undefined && after !== undefined) lastIndex = BigInt(after)
    const asked = lastIndex
    const answer = await read(asked, signal)
    const index = parseConsulIndex(answer.index, what)
    const data = canonicalJson(answer.value)
    if (asked !== undefined && index < asked) {
      lastIndex = index
      lastData = data
      return { value: answer.value, revision: index.toString(), reset: true }
    }
    lastIndex = index
    if (index === asked || data === lastData) {
      confirm(watcher, index.toString())
      return undefined
    }
    lastData = data
    return { value: answer.value, revision: index.toString(), reset: false }
  }
}
