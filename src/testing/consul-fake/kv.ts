/**
 * The fake's KV store, from consul's api-docs/kv.mdx and api-docs/txn.mdx: entries carry
 * CreateIndex/ModifyIndex/LockIndex/Flags, values are raw bytes (base64 in JSON answers),
 * `cas=0` means "only if absent", a delete with `cas` must name the current ModifyIndex,
 * and values are limited to 512 KB. A missing key's blocking index is the KV table's.
 */
import type { ConsulIndex } from './catalog.js'

export const MAX_VALUE_BYTES = 512 * 1024

export interface KvEntry {
  readonly Key: string
  readonly CreateIndex: number
  readonly ModifyIndex: number
  readonly LockIndex: number
  readonly Flags: number
  readonly Value: Buffer
}

export function encodeEntry(e: KvEntry, withValue = true): Record<string, unknown> {
  return {
    LockIndex: e.LockIndex,
    Key: e.Key,
    Flags: e.Flags,
    Value: withValue && e.Value.length > 0 ? e.Value.toString('base64') : null,
    CreateIndex: e.CreateIndex,
    ModifyIndex: e.ModifyIndex,
  }
}

export class FakeKv {
  readonly entries = new Map<string, KvEntry>()
  /** The KV table's index: the last write or delete of any key. */
  tableIndex = 1

  constructor(
    private readonly index: ConsulIndex,
    private readonly onChange: () => void,
  ) {}

  get(key: string): KvEntry | undefined {
    return this.entries.get(key)
  }

  prefixed(prefix: string): KvEntry[] {
    return [...this.entries.values()].filter((e) => e.Key.startsWith(prefix)).sort((a, b) => (a.Key < b.Key ? -1 : 1))
  }

  /** The blocking index of a read: the highest ModifyIndex it covers, or the table's when empty. */
  indexOf(key: string, recurse: boolean): number {
    const hit = recurse ? this.prefixed(key) : [this.entries.get(key)].filter((e): e is KvEntry => e !== undefined)
    return hit.length === 0 ? this.tableIndex : Math.max(...hit.map((e) => e.ModifyIndex))
  }

  /** A set; with `cas`, only when the key's ModifyIndex is `cas` (0: absent). Returns whether it wrote. */
  set(key: string, value: Buffer, flags: number, cas: number | undefined): boolean {
    const current = this.entries.get(key)
    if (cas !== undefined && (current?.ModifyIndex ?? 0) !== cas) return false
    const at = this.index.bump()
    this.entries.set(key, { Key: key, CreateIndex: current?.CreateIndex ?? at, ModifyIndex: at, LockIndex: current?.LockIndex ?? 0, Flags: flags, Value: value })
    this.changed(at)
    return true
  }

  /** A delete; with `cas`, only when the key's ModifyIndex is `cas`. Consul answers true for an absent key. */
  delete(key: string, recurse: boolean, cas: number | undefined): boolean {
    const current = this.entries.get(key)
    if (cas !== undefined && current !== undefined && current.ModifyIndex !== cas) return false
    const doomed = recurse ? this.prefixed(key).map((e) => e.Key) : current === undefined ? [] : [key]
    if (doomed.length === 0) return true
    for (const k of doomed) this.entries.delete(k)
    this.changed(this.index.bump())
    return true
  }

  lowerIndexes(to: number): void {
    this.tableIndex = Math.min(this.tableIndex, to)
    for (const [k, e] of this.entries) this.entries.set(k, { ...e, CreateIndex: Math.min(e.CreateIndex, to), ModifyIndex: Math.min(e.ModifyIndex, to) })
  }

  private changed(at: number): void {
    this.tableIndex = at
    this.onChange()
  }
}

export interface TxnOp {
  readonly Verb: string
  readonly Key: string
  readonly Value?: string
  readonly Flags?: number
  readonly Index?: number
}

export type TxnOutcome = { ok: true; results: unknown[] } | { ok: false; errors: { OpIndex: number; What: string }[] }

/** PUT /v1/txn with KV operations: every check first, then every write (all or nothing). */
export function runKvTxn(kv: FakeKv, ops: readonly TxnOp[]): TxnOutcome {
  const errors: { OpIndex: number; What: string }[] = []
  ops.forEach((op, i) => {
    const current = kv.get(op.Key)
    const stale = (): void => void errors.push({ OpIndex: i, What: `failed to ${op.Verb.startsWith('delete') ? 'delete' : 'set'} key "${op.Key}", index is stale` })
    if (op.Verb === 'cas' || op.Verb === 'delete-cas' || op.Verb === 'check-index') {
      if ((current?.ModifyIndex ?? 0) !== (op.Index ?? 0)) stale()
    } else if (op.Verb === 'check-not-exists') {
      if (current !== undefined) errors.push({ OpIndex: i, What: `key "${op.Key}" exists` })
    } else if (op.Verb === 'get' || op.Verb === 'check-exists') {
      if (current === undefined) errors.push({ OpIndex: i, What: `key "${op.Key}" doesn't exist` })
    } else if (!['set', 'delete'].includes(op.Verb)) {
      errors.push({ OpIndex: i, What: `unknown KV verb "${op.Verb}"` })
    }
    if (op.Value !== undefined && Buffer.from(op.Value, 'base64').length > MAX_VALUE_BYTES) errors.push({ OpIndex: i, What: 'value too large' })
  })
  if (errors.length > 0) return { ok: false, errors }
  const results: unknown[] = []
  for (const op of ops) {
    if (op.Verb === 'set' || op.Verb === 'cas') {
      kv.set(op.Key, Buffer.from(op.Value ?? '', 'base64'), op.Flags ?? 0, undefined)
      results.push({ KV: encodeEntry(kv.get(op.Key)!, false) })
    } else if (op.Verb === 'delete' || op.Verb === 'delete-cas') {
      kv.delete(op.Key, false, undefined)
    } else {
      const e = kv.get(op.Key)
      if (e !== undefined) results.push({ KV: encodeEntry(e, op.Verb === 'get') })
    }
  }
  return { ok: true, results }
}
