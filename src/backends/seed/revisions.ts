/**
 * The seed's centers keep no versions, yet snapshots and config entries need a revision
 * that grows with every change. This backend makes one up: a counter, local to the
 * backend, that advances whenever a read finds content different from the last read of
 * the same thing. Revisions therefore mean something only within one backend object.
 */
export class LocalRevisions {
  private counter = 0n
  private readonly seen = new Map<string, { content: string; revision: string }>()

  /** The revision of `content` under `id`: the last one if unchanged, a new one otherwise. */
  observe(id: string, content: unknown): string {
    const text = canonicalJson(content)
    const last = this.seen.get(id)
    if (last !== undefined && last.content === text) return last.revision
    this.counter += 1n
    const revision = this.counter.toString()
    this.seen.set(id, { content: text, revision })
    return revision
  }

  /** The revision last observed for `id`, or undefined. */
  current(id: string): string | undefined {
    return this.seen.get(id)?.revision
  }
}

/** JSON with object keys sorted, so that equal values give equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v
    const sorted: Record<string, unknown> = {}
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k]
    return sorted
  }) ?? 'undefined'
}
