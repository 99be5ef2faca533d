/**
 * Where watch streams are opened. A watch holds its member's connection for as long as it
 * lives, and a member can fail in ways a unary failover never sees (killed while the watch
 * idles, frozen with its sockets open, or cut off from the quorum). So each member has a
 * transport of its own (one endpoint: a probe of a stream's member must reach that member
 * and no other), streams start at the member that last served well, and after a failure
 * the next one is tried, round robin.
 */
import type { JsonStream, Transport } from '../../transport/types.js'

export interface OpenedStream {
  readonly stream: JsonStream
  /** Index of the member serving it, for probes and `failed`. */
  readonly member: number
}

export interface StreamSource {
  /** Opens `POST /v3/watch` with an NDJSON body of create requests on the current member. */
  open(lines: string, headers: Readonly<Record<string, string>>, timeoutMs: number, signal: AbortSignal): Promise<OpenedStream>
  /**
   * One cheap linearizable read on `member` alone (`count_only` over `key`): resolves when
   * the member answered, rejects when it did not within `timeoutMs`.
   */
  probe(member: number, key: string, headers: Readonly<Record<string, string>>, timeoutMs: number, signal: AbortSignal): Promise<void>
  /** The stream on `member` failed or went silent: start at another member next time. */
  failed(member: number): void
  close(): Promise<void>
}

/**
 * `members[i]` creates the transport of member i (on first use). `owned` says whether
 * close() closes them: an injected transport belongs to its caller.
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
    async open(lines, headers, timeoutMs, signal) {
      const member = current
      try {
        const stream = await transportAt(member).stream({
          method: 'POST',
          path: '/v3/watch',
          rawBody: { data: lines, contentType: 'application/json' },
          headers,
          timeoutMs,
          signal,
        })
        return { stream, member }
      } catch (error) {
        if (!signal.aborted) this.failed(member)
        throw error
      }
    },
    async probe(member, key, headers, timeoutMs, signal) {
      await transportAt(member).request({
        method: 'POST',
        path: '/v3/kv/range',
        body: { key, count_only: true },
        headers,
        timeoutMs,
        signal,
        retry: false,
        idempotent: true,
      })
    },
    failed(member) {
      if (current === member) current = (member + 1) % members.length
    },
    async close() {
      if (owned) await Promise.allSettled([...opened.values()].map((t) => t.close()))
      opened.clear()
    },
  }
}
