/**
 * etcd's JSON gateway encodings: keys and values are standard base64, int64 fields
 * (revisions, lease ids, TTLs) travel as decimal strings. Lease ids and revisions can
 * exceed 2^53, so they stay strings (or bigint for arithmetic), never `Number()`.
 */
import { ProtocolError } from '../../errors.js'
import { isRevision } from '../../types.js'
import { describeValue } from '../../internal/describe.js'

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

export function encodeText(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64')
}

/** Decodes a base64 field; Buffer.from would silently skip bad characters, so check first. */
export function decodeBytes(value: unknown, field: string): Buffer {
  if (value === undefined) return Buffer.alloc(0) // the gateway omits empty bytes
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new ProtocolError(`etcd answered a malformed ${field}: expected base64, got ${describe(value)}`, { details: { field } })
  }
  return Buffer.from(value, 'base64')
}

export function decodeText(value: unknown, field: string): string {
  return decodeBytes(value, field).toString('utf8')
}

/**
 * The `range_end` that selects every key starting with `prefix`: the prefix with its last
 * byte plus one, after dropping trailing 0xff bytes (`/app/` → `/app0`). A prefix of only
 * 0xff bytes has no upper bound: "\0" means "to the end of the keyspace".
 */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8')
  let end = bytes.length
  while (end > 0 && bytes[end - 1] === 0xff) end--
  if (end === 0) return Buffer.from([0]).toString('base64')
  const out = Buffer.from(bytes.subarray(0, end))
  out[end - 1] = (out[end - 1] as number) + 1
  return out.toString('base64')
}

/**
 * Reads an int64 field as a canonical decimal string. The gateway leaves default values
 * out, so a missing field is `fallback`; numbers are accepted only when exact.
 */
export function int64Field(value: unknown, field: string, fallback = '0'): string {
  if (value === undefined || value === null) return fallback
  if (typeof value === 'string' && isRevision(value)) return value
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value)
  throw new ProtocolError(`etcd answered a malformed ${field}: expected a non-negative int64, got ${describe(value)}`, {
    details: { field },
  })
}

/** rev + 1, exactly, for `start_revision` after the last delivered revision. */
export function nextRevision(revision: string): string {
  return (BigInt(revision) + 1n).toString()
}

/** The larger of two decimal revisions. */
export function maxRevision(a: string, b: string): string {
  return BigInt(a) >= BigInt(b) ? a : b
}

export function asRecord(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError(`etcd answered a malformed ${field}: expected an object, got ${describe(value)}`, {
      details: { field },
    })
  }
  return value as Record<string, unknown>
}

export function asArray(value: unknown, field: string): readonly unknown[] {
  if (value === undefined) return [] // repeated fields are omitted when empty
  if (!Array.isArray(value)) {
    throw new ProtocolError(`etcd answered a malformed ${field}: expected an array, got ${describe(value)}`, { details: { field } })
  }
  return value
}

/** The revision in an answer's header, which every answer carries. */
export function headerRevision(body: Record<string, unknown>, field: string): string {
  const header = asRecord(body.header, `${field}.header`)
  if (header.revision === undefined) {
    throw new ProtocolError(`etcd answered without ${field}.header.revision`, { details: { field: `${field}.header.revision` } })
  }
  return int64Field(header.revision, `${field}.header.revision`)
}

export const describe = describeValue
