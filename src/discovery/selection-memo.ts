/**
 * Memoised selections, so a call's options cost a lookup instead of validation and a key
 * build. Two layers: by options object (a caller reusing one object), then by content (a
 * fresh literal per call, as users write them), compared field by field without allocating.
 */
import type { Selection } from './select.js'
import type { DiscoverOptions, PickOptions } from './types.js'

/** The selection fields of one validated options bag, copied so later mutation cannot alias. */
interface ContentSlot {
  readonly status: unknown
  readonly tags: unknown
  readonly metadata: Readonly<Record<string, unknown>> | undefined
  readonly metadataSize: number
  readonly filter: unknown
  readonly zone: unknown
  readonly strategy: unknown
  readonly selection: Selection
}

interface ObjectSlot {
  readonly selection: Selection
  readonly fields: readonly unknown[]
}

/** Distinct literal contents kept; a program has a handful of call sites, not hundreds. */
const CONTENT_SLOTS = 16

export class SelectionMemo {
  readonly #byObject = new WeakMap<object, ObjectSlot>()
  readonly #byContent: ContentSlot[] = []
  #nextSlot = 0

  /** The selection built for this very object, unless a selection field changed since. */
  ofObject(options: PickOptions | DiscoverOptions): Selection | undefined {
    const p = options as PickOptions
    const hit = this.#byObject.get(options)
    // The fields are compared too: a mutated object is rebuilt.
    if (
      hit !== undefined &&
      hit.fields[0] === p.status &&
      hit.fields[1] === p.tags &&
      hit.fields[2] === p.metadata &&
      hit.fields[3] === p.filter &&
      hit.fields[4] === p.zone &&
      hit.fields[5] === p.strategy
    ) {
      return hit.selection
    }
    return undefined
  }

  /**
   * The selection of an earlier bag with the same selection fields. Only those fields are
   * compared: the caller still checks the rest of the bag (option names, staleness, signal).
   */
  ofContent(options: PickOptions | DiscoverOptions): Selection | undefined {
    if (typeof options !== 'object' || options === null) return undefined
    for (const slot of this.#byContent) if (sameContent(slot, options as PickOptions)) return slot.selection
    return undefined
  }

  /** Call only with options that built `selection` without error: a content hit skips validation. */
  set(options: PickOptions | DiscoverOptions, selection: Selection): Selection {
    const p = options as PickOptions
    this.#byObject.set(options, { selection, fields: [p.status, p.tags, p.metadata, p.filter, p.zone, p.strategy] })
    const metadata = p.metadata === undefined ? undefined : { ...p.metadata }
    this.#byContent[this.#nextSlot] = {
      status: Array.isArray(p.status) ? [...p.status] : p.status,
      tags: p.tags === undefined ? undefined : [...p.tags],
      metadata,
      metadataSize: metadata === undefined ? 0 : Object.keys(metadata).length,
      filter: p.filter,
      zone: p.zone,
      strategy: p.strategy,
      selection,
    }
    this.#nextSlot = (this.#nextSlot + 1) % CONTENT_SLOTS
    return selection
  }
}

function sameContent(slot: ContentSlot, p: PickOptions): boolean {
  return (
    slot.strategy === p.strategy &&
    slot.zone === p.zone &&
    slot.filter === p.filter &&
    sameList(slot.status, p.status) &&
    sameList(slot.tags, p.tags) &&
    sameRecord(slot, p.metadata)
  )
}

/** Equal primitives, or two arrays with the same elements in the same order. */
function sameList(kept: unknown, given: unknown): boolean {
  if (kept === given) return true
  if (!Array.isArray(kept) || !Array.isArray(given) || kept.length !== given.length) return false
  for (let i = 0; i < kept.length; i++) if (kept[i] !== given[i]) return false
  return true
}

/** The same own entries; for-in also walks inherited keys, which then fail the check (slow path). */
function sameRecord(slot: ContentSlot, given: unknown): boolean {
  const kept = slot.metadata
  if (kept === undefined || given === undefined || given === null || typeof given !== 'object' || Array.isArray(given)) return kept === given
  let size = 0
  for (const key in given) {
    if (!Object.hasOwn(kept, key) || kept[key] !== (given as Record<string, unknown>)[key]) return false
    size++
  }
  return size === slot.metadataSize
}
