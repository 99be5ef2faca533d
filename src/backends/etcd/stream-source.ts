/**
 * Where watch streams are opened. A watch holds its member's connection for as long as it
 * lives, and a member can fail in ways a unary failover never sees (killed while the watch
 * idles, or cut off from the quorum, which the has-leader header turns into an error
 * frame). So after any failure the next stream starts at the next member, round robin;
 * each member's transport lists the others after it, so opening still fails over.
 */
import type { JsonStream, Transport } from '../../transport/types.js'

export interface StreamSource {
  open(body: unknown, headers: Readonly<Record<string, string>>, timeoutMs: number, signal: AbortSignal): Promise<JsonStream>
  /** The last stream from this source failed: start at another member next time. */
  failed(): void
  close(): Promise<void>
}

/**
 * `members[i]` creates the transport that starts at member i (on first use). `owned`
 * says whether close() closes them: an injected transport belongs to its caller.
 */
export function createStreamSource(members: readonly (() => Transport)[], owned: boolean): StreamSource {
  const opened = new Map<number, Transport>()
  let current = 0
  const transportAt = (i: number): Transport => {
    let t = opened.get(i)
    if (t === undefined) {
      t = (members[i] as () => Transport)()
      opened.set(i, t)
    }
    return t
  }
  return {
    open(body, headers, timeoutMs, signal) {
      return transportAt(current).stream({ method: 'POST', path: '/v3/watch', body, headers, timeoutMs, signal })
    },
    failed() {
      current = (current + 1) % members.length
    },
    async close() {
      if (owned) await Promise.allSettled([...opened.values()].map((t) => t.close()))
      opened.clear()
    },
  }
}

/** The endpoints starting at index i: [e_i, e_i+1, …, e_i-1]. */
export function rotated<T>(list: readonly T[], i: number): T[] {
  return [...list.slice(i), ...list.slice(0, i)]
}
