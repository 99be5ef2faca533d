/** Equality and top-level diffs of JSON values (what config values are on the wire). */

type JsonObject = Record<string, unknown>

export function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/** Structural equality for JSON data; object key order does not matter. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || !jsonEqual((a as JsonObject)[k], (b as JsonObject)[k])) return false
  }
  return true
}

/**
 * Top-level keys whose value differs between two values, new keys first in their order,
 * then removed ones. A value that is not a plain object counts as having no keys, so a
 * change from `{ a: 1 }` to `5` reports `['a']` and one between scalars reports `[]`.
 */
export function changedKeys(previous: unknown, next: unknown): string[] {
  const before = isPlainObject(previous) ? previous : undefined
  const after = isPlainObject(next) ? next : undefined
  if (!before && !after) return []
  const keys: string[] = []
  if (after) {
    for (const k of Object.keys(after)) {
      if (!before || !Object.hasOwn(before, k) || !jsonEqual(before[k], after[k])) keys.push(k)
    }
  }
  if (before) {
    for (const k of Object.keys(before)) if (!after || !Object.hasOwn(after, k)) keys.push(k)
  }
  return keys
}
