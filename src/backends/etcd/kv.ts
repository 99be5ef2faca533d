/** Key-value calls (range, put, txn) and the parsing of etcd's `KeyValue` messages. */
import type { CallContext } from '../../backend.js'
import { isGovernanceError } from '../../errors.js'
import { asArray, asRecord, decodeText, encodeText, headerRevision, int64Field, prefixRangeEnd } from './codec.js'
import type { Gateway } from './gateway.js'

export interface KeyValue {
  readonly key: string
  readonly value: string
  readonly createRevision: string
  readonly modRevision: string
  readonly lease: string
}

export interface RangeResult {
  /** The store's revision the range was read at: a valid point to watch from (+1). */
  readonly revision: string
  readonly kvs: readonly KeyValue[]
  /** True when `limit` cut the answer short: more keys follow the last one. */
  readonly more: boolean
}

export interface RangeOptions {
  /** Read every key starting with `key`. */
  readonly prefix?: boolean
  /** Read the store as it was at this revision (fails once compacted). */
  readonly revision?: string
  /** Keys without values (`value` reads as ""). */
  readonly keysOnly?: boolean
  /** Most keys in the answer; `more` says whether some were left out. */
  readonly limit?: number
  /** With `prefix`: start at this key (inclusive) instead of at `key`, to read the next page. */
  readonly from?: string
}

export function parseKeyValue(raw: unknown, field: string): KeyValue {
  const kv = asRecord(raw, field)
  return {
    key: decodeText(kv.key, `${field}.key`),
    value: decodeText(kv.value, `${field}.value`),
    createRevision: int64Field(kv.create_revision, `${field}.create_revision`),
    modRevision: int64Field(kv.mod_revision, `${field}.mod_revision`),
    lease: int64Field(kv.lease, `${field}.lease`),
  }
}

/** The JSON body selecting `key`, or every key under it with `prefix`. */
export function keySelector(key: string, prefix: boolean | undefined): { key: string; range_end?: string } {
  return prefix ? { key: encodeText(key), range_end: prefixRangeEnd(key) } : { key: encodeText(key) }
}

export async function range(gateway: Gateway, key: string, options: RangeOptions, ctx: CallContext): Promise<RangeResult> {
  const request: Record<string, unknown> = keySelector(key, options.prefix)
  if (options.from !== undefined) request.key = encodeText(options.from)
  if (options.revision !== undefined) request.revision = options.revision
  if (options.keysOnly) request.keys_only = true
  if (options.limit !== undefined) request.limit = String(options.limit)
  const { body } = await gateway.post('/v3/kv/range', request, ctx, { idempotent: true })
  const kvs = asArray(body.kvs, 'range kvs').map((kv, i) => parseKeyValue(kv, `range kvs[${i}]`))
  // `more` is set only when a limit cut the answer short (the gateway omits false).
  return { revision: headerRevision(body, 'range'), kvs, more: body.more === true }
}

/** Puts a value, optionally attached to a lease; answers the revision of the write. */
export async function put(gateway: Gateway, key: string, value: string, lease: string | undefined, ctx: CallContext): Promise<string> {
  const request: Record<string, unknown> = { key: encodeText(key), value: encodeText(value) }
  if (lease !== undefined) request.lease = lease
  const { body } = await gateway.post('/v3/kv/put', request, ctx)
  return headerRevision(body, 'put')
}

export interface TxnResult {
  readonly succeeded: boolean
  readonly revision: string
  readonly responses: readonly Record<string, unknown>[]
}

export async function txn(gateway: Gateway, request: Record<string, unknown>, ctx: CallContext): Promise<TxnResult> {
  const { body } = await gateway.post('/v3/kv/txn', request, ctx)
  // A failed comparison omits `succeeded` (false is the default value).
  return {
    succeeded: body.succeeded === true,
    revision: headerRevision(body, 'txn'),
    responses: asArray(body.responses, 'txn responses').map((r, i) => asRecord(r, `txn responses[${i}]`)),
  }
}

/** True when a read at a revision failed because that history was compacted away. */
export function isCompactedError(error: unknown): boolean {
  return isGovernanceError(error) && /required revision has been compacted/i.test(error.message)
}

/** True when a read asked for a revision the store has not reached (a reset or restored cluster). */
export function isFutureRevisionError(error: unknown): boolean {
  return isGovernanceError(error) && /required revision is a future revision/i.test(error.message)
}
