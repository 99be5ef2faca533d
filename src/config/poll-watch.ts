/**
 * A watch made of repeated reads, for backends that cannot push (no `watchConfig`). It
 * speaks the same Watcher contract as a backend's watch, so the key's state machine does
 * not care which one feeds it. One read at a time; failures back off up to 8 intervals.
 */
import type { CallContext, Unsubscribe, Watcher, WatchMeta } from '../backend.js'
import { toGovernanceError } from '../errors.js'
import { unrefTimeout } from '../internal/timers.js'
import { compareRevisions, type ConfigEntry } from '../types.js'

export type ReadConfig = (key: string, ctx: CallContext) => Promise<ConfigEntry | undefined>

export interface PollOptions {
  readonly intervalMs: number
  readonly timeoutMs: number
}

/** Revision "0" stands for "absent": polling cannot learn the index of a deletion. */
const ABSENT = '0'

export function pollConfig(read: ReadConfig, key: string, watcher: Watcher<ConfigEntry | undefined>, options: PollOptions): Unsubscribe {
  const controller = new AbortController()
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let last: string | undefined
  let failures = 0

  const tick = async (): Promise<void> => {
    try {
      const entry = await read(key, { signal: controller.signal, timeoutMs: options.timeoutMs })
      if (stopped) return
      failures = 0
      const meta = classify(last, entry)
      if (meta) {
        last = meta.revision
        watcher.next(entry, meta)
      } else if (last !== undefined) watcher.confirmed?.({ revision: last })
    } catch (error) {
      if (stopped) return
      failures++
      watcher.error(toGovernanceError(error, `polling config ${key} failed`))
    }
    if (!stopped) timer = unrefTimeout(() => void tick(), options.intervalMs * Math.min(2 ** failures, 8))
  }

  void tick()
  return () => {
    stopped = true
    clearTimeout(timer)
    controller.abort()
  }
}

/** The meta for a read, or undefined when nothing changed since the last one. */
function classify(last: string | undefined, entry: ConfigEntry | undefined): WatchMeta | undefined {
  const revision = entry === undefined ? ABSENT : entry.version
  if (last === undefined) return { revision, reset: false }
  if (revision === last) return undefined
  // A deletion, or a version lower than the last: the key's history restarted (or the
  // deletion index is unknown), so the state is a replacement for the core to compare.
  const reset = entry === undefined || compareRevisions(revision, last) < 0
  return { revision, reset }
}
