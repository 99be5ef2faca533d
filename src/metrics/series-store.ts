/**
 * Label set → cell, for one instrument.
 *
 * OpenTelemetry hashes the attribute object on every call. Here a label object is walked
 * with for-in (V8 serves that from the hidden class's enum cache) through a trie keyed by
 * label name and then by the raw value, so a label set seen before costs one pointer
 * compare and at most one Map.get per label, and allocates nothing.
 *
 * The trie is also the index of series: a label set's home is the path of its names in
 * sorted order with string values. A label object whose walk differs from that (keys in
 * another order, a number value) gets a second path to the same cell, cached after the
 * slow path resolved it once. Validation, coercion and the series cap live on that slow
 * path only.
 */
import { InvalidArgumentError } from '../errors.js'
import type { Logger } from '../internal/logger.js'
import type { LabelSet } from './cells.js'
import { OVERFLOW_LABEL, describe, labelNameProblem } from './names.js'

/** What users pass: values other than strings are coerced with String() on the slow path. */
export type Labels = Readonly<Record<string, string | number>>

/** Marks an empty first slot (a label value is never this object). */
const EMPTY: unique symbol = Symbol('empty')

class TrieNode<C> {
  cell: C | undefined = undefined
  first: Branch<C> | undefined = undefined
}

/**
 * One label name at one depth; a chain, because another call site may order keys
 * differently. Most branches below the first depth only ever see one value, so the
 * first value lives in fields and a Map is made only for the second.
 */
class Branch<C> {
  firstValue: unknown = EMPTY
  firstNode: TrieNode<C> | undefined = undefined
  more: Map<unknown, TrieNode<C>> | undefined = undefined
  constructor(
    readonly key: string,
    public next: Branch<C> | undefined,
  ) {}

  get(value: unknown): TrieNode<C> | undefined {
    return this.firstValue === value ? this.firstNode : this.more?.get(value)
  }

  getOrAdd(value: unknown): TrieNode<C> {
    const found = this.get(value)
    if (found !== undefined) return found
    const node = new TrieNode<C>()
    if (this.firstValue === EMPTY) {
      this.firstValue = value
      this.firstNode = node
    } else (this.more ??= new Map()).set(value, node)
    return node
  }
}

/** Extra paths (other key orders, number values) allowed per series, and no more. */
const ALIAS_PATHS_PER_SERIES = 3

export interface SeriesStoreOptions<C> {
  readonly metric: string
  readonly maxSeries: number
  readonly histogram: boolean
  readonly logger: Logger
  readonly create: (labels: LabelSet) => C
}

type Entry = readonly [string, unknown]

export class SeriesStore<C> {
  private readonly root = new TrieNode<C>()
  private readonly all: C[] = []
  private overflow: C | undefined
  private aliases = 0
  private warnedOverflow = false
  private warnedInvalid = false
  private readonly validNames = new Set<string>()

  constructor(private readonly options: SeriesStoreOptions<C>) {}

  /** The hot path: never throws; undefined means "drop this recording" (already logged). */
  lookup(labels: object): C | undefined {
    // A primitive here (a JS caller's mistake) would turn this for-in generic, and from
    // then on it would allocate a key list on every call, for every label set.
    if (typeof labels !== 'object' || labels === null) return this.resolve(labels, false)
    let node: TrieNode<C> | undefined = this.root
    for (const k in labels) {
      let branch: Branch<C> | undefined = node.first
      while (branch !== undefined && branch.key !== k) branch = branch.next
      if (branch === undefined) return this.resolve(labels, false)
      node = branch.get((labels as Record<string, unknown>)[k])
      if (node === undefined) return this.resolve(labels, false)
    }
    return node.cell ?? this.resolve(labels, false)
  }

  /** For bind(): the same resolution, but a bad label set throws InvalidArgumentError. */
  bind(labels: unknown): C {
    return this.resolve(labels, true) as C
  }

  /** Every series (overflow last) as an array: no generator on the snapshot path. */
  list(): readonly C[] {
    return this.overflow === undefined ? this.all : [...this.all, this.overflow]
  }

  /** Every series (overflow last), for collection and rendering. */
  *cells(): IterableIterator<C> {
    yield* this.all
    if (this.overflow !== undefined) yield this.overflow
  }

  private resolve(labels: unknown, strict: boolean): C | undefined {
    const canonical = this.canonicalize(labels, strict)
    if (canonical === undefined) return undefined
    let cell = find(this.root, canonical.entries)?.cell
    if (cell === undefined) {
      if (this.all.length >= this.options.maxSeries) return this.overflowCell()
      cell = this.options.create(toLabelSet(canonical.entries))
      this.all.push(cell)
      insert(this.root, canonical.entries).cell = cell
    }
    if (!canonical.isWalk) this.cacheAlias(labels as object, cell)
    return cell
  }

  /**
   * Sorted [name, string value] pairs, and whether the object's own walk is that same
   * path (keys already sorted, all values strings); undefined when invalid (logged once,
   * or thrown when strict).
   */
  private canonicalize(labels: unknown, strict: boolean): { entries: [string, string][]; isWalk: boolean } | undefined {
    if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
      return this.invalid(`labels must be an object, got ${describe(labels)}`, strict)
    }
    const entries: [string, string][] = []
    let isWalk = true
    for (const k in labels) {
      if (!this.validNames.has(k)) {
        const problem = labelNameProblem(k, this.options.histogram)
        if (problem !== undefined) return this.invalid(problem, strict)
        this.validNames.add(k)
      }
      const v: unknown = (labels as Record<string, unknown>)[k]
      const previous = entries[entries.length - 1]
      if (previous !== undefined && previous[0] > k) isWalk = false
      if (typeof v === 'string') entries.push([k, v])
      else if ((typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean') {
        entries.push([k, String(v)])
        isWalk = false
      } else return this.invalid(`label ${JSON.stringify(k)} has value ${describe(v)}; use a string`, strict)
    }
    if (!isWalk) entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    return { entries, isWalk }
  }

  private invalid(problem: string, strict: boolean): undefined {
    const message = `metric ${this.options.metric}: ${problem}`
    if (strict) throw new InvalidArgumentError(message, { details: { metric: this.options.metric } })
    if (!this.warnedInvalid) {
      this.warnedInvalid = true
      this.options.logger.warn(`${message}; recordings with such labels are dropped (logged once per metric)`)
    }
    return undefined
  }

  private overflowCell(): C {
    if (!this.warnedOverflow) {
      this.warnedOverflow = true
      this.options.logger.warn(
        `metric ${this.options.metric} reached its cap of ${this.options.maxSeries} label sets; ` +
          `new label sets are counted in the series {${OVERFLOW_LABEL}="true"} (logged once per metric)`,
        { metric: this.options.metric, maxSeries: this.options.maxSeries },
      )
    }
    this.overflow ??= this.options.create(Object.freeze({ [OVERFLOW_LABEL]: 'true' }))
    return this.overflow
  }

  /** Adds this label object's own walk, when it is not the canonical one, within a budget. */
  private cacheAlias(labels: object, cell: C): void {
    const raw: Entry[] = []
    for (const k in labels) raw.push([k, (labels as Record<string, unknown>)[k]])
    const existing = find(this.root, raw)
    if (existing?.cell !== undefined) return
    if (this.aliases >= this.options.maxSeries * ALIAS_PATHS_PER_SERIES) return
    this.aliases += 1
    insert(this.root, raw).cell = cell
  }
}

function toLabelSet(entries: readonly (readonly [string, string])[]): LabelSet {
  const labels: Record<string, string> = {}
  for (const [k, v] of entries) labels[k] = v
  return Object.freeze(labels)
}

function find<C>(root: TrieNode<C>, entries: readonly Entry[]): TrieNode<C> | undefined {
  let node: TrieNode<C> | undefined = root
  for (const [k, v] of entries) {
    let branch: Branch<C> | undefined = node.first
    while (branch !== undefined && branch.key !== k) branch = branch.next
    node = branch?.get(v)
    if (node === undefined) return undefined
  }
  return node
}

function insert<C>(root: TrieNode<C>, entries: readonly Entry[]): TrieNode<C> {
  let node = root
  for (const [k, v] of entries) {
    let branch = node.first
    while (branch !== undefined && branch.key !== k) branch = branch.next
    if (branch === undefined) branch = node.first = new Branch<C>(k, node.first)
    node = branch.getOrAdd(v)
  }
  return node
}
