/**
 * The open change feeds of one kind (services or config keys) of the in-memory backend,
 * and the rules their answers follow: full states only, never an older revision unless
 * flagged `reset`, an injected fault instead of a state, and a re-read after a fault as a
 * real backend's feed re-opens after a failure.
 */
import type { Unsubscribe, Watcher } from '../backend.js'
import type { GovernanceError } from '../errors.js'
import { unrefTimeout } from '../internal/timers.js'
import { compareRevisions } from '../types.js'

export interface FeedState<T> {
  readonly value: T
  readonly revision: string
}

export interface WatchHubOptions<T> {
  /** The state a feed of `target` answers now. */
  current(target: string): FeedState<T>
  /** The error that replaces the next answer, if one is scheduled (consumes it). */
  takeFault(): GovernanceError | undefined
  /** Why no feed can be answered now (an outage), or undefined. */
  down(): GovernanceError | undefined
  /** How long a feed that answered an error waits before it reads again. */
  readonly reopenMs: number
  /** True while the registry is hung (frozen): feeds answer nothing, not even an error. */
  silent(): boolean
}

interface Entry<T> {
  readonly target: string
  readonly watcher: Watcher<T>
  lastRevision: string | undefined
  reopen: NodeJS.Timeout | undefined
}

export class WatchHub<T> {
  readonly #o: WatchHubOptions<T>
  readonly #feeds = new Map<string, Set<Entry<T>>>()
  #quiet = false

  constructor(options: WatchHubOptions<T>) {
    this.#o = options
  }

  /**
   * Opens a feed. The first answer comes in a microtask: the current state, unless
   * `afterRevision` is already current; a revision the registry has not reached means it
   * was reset meanwhile, so the state is answered as a replacement (protocol v1 section 4).
   */
  subscribe(target: string, watcher: Watcher<T>, afterRevision: string | undefined): Unsubscribe {
    const entry: Entry<T> = { target, watcher, lastRevision: afterRevision, reopen: undefined }
    let set = this.#feeds.get(target)
    if (!set) this.#feeds.set(target, (set = new Set()))
    set.add(entry)
    queueMicrotask(() => {
      if (!set.has(entry) || this.#o.silent()) return
      const outage = this.#o.down()
      if (outage) return safely(() => watcher.error(outage))
      const state = this.#o.current(target)
      const behind = afterRevision !== undefined && compareRevisions(state.revision, afterRevision) < 0
      this.#deliver(entry, state, behind)
    })
    return () => {
      clearTimeout(entry.reopen)
      set.delete(entry)
      if (set.size === 0 && this.#feeds.get(target) === set) this.#feeds.delete(target)
    }
  }

  /** Answers every feed of `target` with its current state (unless quiet or down). */
  notify(target: string, reset = false): void {
    if (this.#quiet || this.#o.silent() || this.#o.down()) return
    const set = this.#feeds.get(target)
    if (!set) return
    const state = this.#o.current(target)
    for (const entry of [...set]) this.#deliver(entry, state, reset)
  }

  notifyAll(reset = false): void {
    for (const target of [...this.#feeds.keys()]) this.notify(target, reset)
  }

  /**
   * Tells every feed that has answered that its last state is still current, as a server's
   * keep-alive or unchanged blocking answer does (nothing while silent or down).
   */
  confirmAll(): void {
    if (this.#o.silent() || this.#o.down()) return
    for (const set of [...this.#feeds.values()]) {
      for (const entry of [...set]) {
        const revision = entry.lastRevision
        if (revision !== undefined && typeof entry.watcher.confirmed === 'function') safely(() => entry.watcher.confirmed!({ revision }))
      }
    }
  }

  /** Tells every feed that it broke (the registry became unreachable). */
  breakAll(error: GovernanceError): void {
    for (const set of [...this.#feeds.values()]) for (const entry of [...set]) safely(() => entry.watcher.error(error))
  }

  /** Runs `changes` without answering any feed: the feeds miss them, as across a reset. */
  quietly(changes: () => void): void {
    const was = this.#quiet
    this.#quiet = true
    try {
      changes()
    } finally {
      this.#quiet = was
    }
  }

  get size(): number {
    let n = 0
    for (const set of this.#feeds.values()) n += set.size
    return n
  }

  clear(): void {
    for (const set of this.#feeds.values()) for (const entry of set) clearTimeout(entry.reopen)
    this.#feeds.clear()
  }

  #deliver(entry: Entry<T>, state: FeedState<T>, reset: boolean): void {
    if (!reset && entry.lastRevision !== undefined && compareRevisions(state.revision, entry.lastRevision) <= 0) return
    const fault = this.#o.takeFault()
    if (fault) {
      safely(() => entry.watcher.error(fault))
      this.#reopenLater(entry, reset)
      return
    }
    entry.lastRevision = state.revision
    safely(() => entry.watcher.next(state.value, { revision: state.revision, reset }))
  }

  // The state that the faulty answer replaced is read again, as a re-opened feed would.
  #reopenLater(entry: Entry<T>, reset: boolean): void {
    clearTimeout(entry.reopen)
    entry.reopen = unrefTimeout(() => {
      entry.reopen = undefined
      if (!this.#feeds.get(entry.target)?.has(entry) || this.#o.silent() || this.#o.down()) return
      this.#deliver(entry, this.#o.current(entry.target), reset)
    }, this.#o.reopenMs)
  }
}

// A watcher must not throw into the backend; the client's watchers catch their own.
function safely(call: () => void): void {
  try {
    call()
  } catch {
    // ignored on purpose: see above
  }
}
