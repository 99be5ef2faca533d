/**
 * The one disk writer of last good values (discovery's and config's snapshot files). Writes
 * are atomic and coalesced per file: at most one write runs and one waits, and the waiting
 * one is always the newest. A failing file (a full or read-only disk) is reported once per
 * failing streak and written again with the next save.
 */
import { rm } from 'node:fs/promises'
import { toGovernanceError, type GovernanceError } from '../errors.js'
import { writeFileAtomic } from '../internal/atomic-file.js'

/** The file's content, rendered when its write starts (so a timestamp in it is the write's); null removes it. */
export type SnapshotContent = () => string | null

interface Slot {
  next: SnapshotContent | undefined
  /** Names the file in the error of a failed write, e.g. "the config snapshot of app". */
  what: string
  done: Promise<void>
}

export class SnapshotWriter {
  readonly #onError: (error: GovernanceError, path: string) => void
  readonly #slots = new Map<string, Slot>()
  readonly #failing = new Set<string>()

  /** `onError` hears of the first failure of each failing streak of a file. */
  constructor(onError: (error: GovernanceError, path: string) => void) {
    this.#onError = onError
  }

  save(path: string, content: SnapshotContent, what: string): void {
    const slot = this.#slots.get(path)
    if (slot !== undefined) {
      slot.next = content
      slot.what = what
      return
    }
    const fresh: Slot = { next: content, what, done: DONE }
    this.#slots.set(path, fresh)
    fresh.done = this.#drain(path, fresh)
  }

  /** Settles once every write asked for so far is done (or failed and was reported). */
  async flush(): Promise<void> {
    while (this.#slots.size > 0) await Promise.all([...this.#slots.values()].map((s) => s.done))
  }

  async #drain(path: string, slot: Slot): Promise<void> {
    try {
      while (slot.next !== undefined) {
        const content = slot.next
        slot.next = undefined
        await this.#write(path, content, slot.what)
      }
    } finally {
      this.#slots.delete(path)
    }
  }

  async #write(path: string, content: SnapshotContent, what: string): Promise<void> {
    try {
      const body = content()
      if (body === null) await rm(path, { force: true })
      else await writeFileAtomic(path, body)
      this.#failing.delete(path)
    } catch (error) {
      if (this.#failing.has(path)) return
      this.#failing.add(path)
      this.#onError(toGovernanceError(error, `could not write ${what}`), path)
    }
  }
}

const DONE: Promise<void> = Promise.resolve()
