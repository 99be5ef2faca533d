/**
 * Memoised selections, so a call's options cost a lookup instead of validation and a key
 * build. Keyed by content first: users write a fresh literal per call, compared field by
 * field without allocating against the last SLOTS selections. Past those, a bag object
 * reused by its call site still hits by identity (its content compared again, so a mutated
 * one is rebuilt).
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
  /** How many of the fields above are defined: what a bag of selection keys only must match. */
  readonly defined: number
  readonly selection: Selection
}

/** Distinct selections kept; a program has a handful of call sites, not hundreds. */
const SLOTS = 16

export class SelectionMemo {
  readonly #slots: ContentSlot[] = []
  readonly #byObject = new WeakMap<object, ContentSlot>()
  #next = 0
  #lastHit = 0

  /**
   * The last hit's selection when `options` holds selection keys only (and, for pick, a string
   * hashKey) with the same values: one walk over the bag's own keys both compares and refuses
   * strangers, so the common literal (`{ strategy: 'weighted' }`) costs one call. Undefined
   * otherwise; the caller then takes `get()` and the full check.
   */
  lastIfOnlySelection(options: object, forPick: boolean): Selection | undefined {
    const slot = this.#slots[this.#lastHit]
    // null and arrays walk no selection keys, which must not read as an empty bag's match.
    if (slot === undefined || typeof options !== 'object' || options === null || Array.isArray(options)) return undefined
    const p = options as PickOptions
    let defined = 0
    for (const key in options) {
      let value: unknown
      switch (key) {
        case 'strategy':
          value = p.strategy
          if (!forPick || value !== slot.strategy) return undefined
          break
        case 'zone':
          value = p.zone
          if (value !== slot.zone) return undefined
          break
        case 'filter':
          value = p.filter
          if (value !== slot.filter) return undefined
          break
        case 'status':
          value = p.status
          if (value !== slot.status && !sameList(slot.status, value)) return undefined
          break
        case 'tags':
          value = p.tags
          if (value !== slot.tags && !sameList(slot.tags, value)) return undefined
          break
        case 'metadata':
          value = p.metadata
          if (value !== slot.metadata && !sameRecord(slot, value)) return undefined
          break
        case 'hashKey':
          if (!forPick || typeof p.hashKey !== 'string') return undefined
          continue
        default:
          return undefined
      }
      if (value !== undefined) defined++
    }
    // Every defined value matched the slot's, so equal counts mean the same defined fields.
    return defined === slot.defined ? slot.selection : undefined
  }

  /**
   * The selection of an earlier bag with the same selection fields. Only those fields are
   * compared: the caller still checks the rest of the bag (option names, staleness, signal).
   */
  get(options: PickOptions | DiscoverOptions): Selection | undefined {
    if (typeof options !== 'object' || options === null) return undefined
    const slots = this.#slots
    // The last hit first: a loop calls with one content over and over.
    const last = slots[this.#lastHit]
    if (last !== undefined && sameContent(last, options as PickOptions)) return last.selection
    for (let i = 0; i < slots.length; i++) {
      if (sameContent(slots[i]!, options as PickOptions)) {
        this.#lastHit = i
        return slots[i]!.selection
      }
    }
    // More distinct selections than slots: an object reused by its call site still hits here.
    const kept = this.#byObject.get(options)
    return kept !== undefined && sameContent(kept, options as PickOptions) ? kept.selection : undefined
  }

  /** Call only with options that built `selection` without error: a hit skips their validation. */
  set(options: PickOptions | DiscoverOptions, selection: Selection): Selection {
    const p = options as PickOptions
    const metadata = p.metadata === undefined ? undefined : { ...p.metadata }
    const slot: ContentSlot = {
      status: Array.isArray(p.status) ? [...p.status] : p.status,
      tags: p.tags === undefined ? undefined : [...p.tags],
      metadata,
      metadataSize: metadata === undefined ? 0 : Object.keys(metadata).length,
      filter: p.filter,
      zone: p.zone,
      strategy: p.strategy,
      defined: [p.status, p.tags, metadata, p.filter, p.zone, p.strategy].filter((v) => v !== undefined).length,
      selection,
    }
    this.#slots[this.#next] = slot
    this.#byObject.set(options, slot)
    this.#next = (this.#next + 1) % SLOTS
    return selection
  }
}

function sameContent(slot: ContentSlot, p: PickOptions): boolean {
  return (
    slot.strategy === p.strategy &&
    slot.zone === p.zone &&
    slot.filter === p.filter &&
    (slot.status === p.status || sameList(slot.status, p.status)) &&
    (slot.tags === p.tags || sameList(slot.tags, p.tags)) &&
    (slot.metadata === p.metadata || sameRecord(slot, p.metadata))
  )
}

/** Equal primitives, or two arrays with the same elements in the same order. */
function sameList(kept: unknown, given: unknown): boolean {
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
