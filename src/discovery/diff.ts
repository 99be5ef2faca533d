/** The difference between two instance sets, by instance id. */
import type { InstanceDiff } from '../events.js'
import type { Instance } from '../types.js'

export const EMPTY_DIFF: InstanceDiff = Object.freeze({ added: Object.freeze([]), removed: Object.freeze([]), changed: Object.freeze([]) })

export function diffInstances(before: readonly Instance[], after: readonly Instance[]): InstanceDiff {
  const previous = new Map(before.map((i) => [i.id, i]))
  const added: Instance[] = []
  const changed: Instance[] = []
  for (const instance of after) {
    const old = previous.get(instance.id)
    if (old === undefined) added.push(instance)
    else if (!sameInstance(old, instance)) changed.push(instance)
    previous.delete(instance.id)
  }
  const removed = [...previous.values()]
  if (added.length === 0 && removed.length === 0 && changed.length === 0) return EMPTY_DIFF
  return Object.freeze({ added: Object.freeze(added), removed: Object.freeze(removed), changed: Object.freeze(changed) })
}

export function isEmptyDiff(diff: InstanceDiff): boolean {
  return diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0
}

/** Field-by-field equality of the fields an Instance has (the server's timestamps are not part of it). */
export function sameInstance(a: Instance, b: Instance): boolean {
  if (a === b) return true
  return (
    a.id === b.id &&
    a.service === b.service &&
    a.address === b.address &&
    a.port === b.port &&
    a.status === b.status &&
    a.weight === b.weight &&
    a.zone === b.zone &&
    sameList(a.tags, b.tags) &&
    sameRecord(a.metadata, b.metadata)
  )
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  return keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k])
}
