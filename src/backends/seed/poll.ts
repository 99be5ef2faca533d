/**
 * Watches by polling: the centers cannot push, so a watch reads every `pollIntervalMs`
 * and delivers only when the content changed (compared as canonical JSON, through the
 * backend's local revisions). Runs on the shared watch loop, which owns backoff and stop.
 */
import type { CallContext, Unsubscribe, Watcher } from '../../backend.js'
import type { Logger } from '../../internal/logger.js'
import { sleep } from '../../internal/timers.js'
import { startWatchLoop } from '../../internal/watch-loop.js'
import { compareRevisions } from '../../types.js'

export interface PollRead<T> {
  readonly value: T
  readonly revision: string
}

export interface PollWatchOptions<T> {
  readonly name: string
  readonly read: (ctx: CallContext) => Promise<PollRead<T>>
  readonly watcher: Watcher<T>
  readonly afterRevision: string | undefined
  readonly pollIntervalMs: number
  readonly requestTimeoutMs: number
  readonly logger: Logger
}

export function startPollWatch<T>(o: PollWatchOptions<T>): Unsubscribe {
  return startWatchLoop<T>({
    name: o.name,
    watcher: o.watcher,
    logger: o.logger,
    // The step sleeps its interval itself, so an unchanged poll is not "suspiciously fast".
    minEmptyStepMs: 0,
    backoff: { minDelayMs: Math.min(250, o.pollIntervalMs), maxDelayMs: Math.max(30_000, o.pollIntervalMs) },
    ...(o.afterRevision === undefined ? {} : { afterRevision: o.afterRevision }),
    step: async (after, signal) => {
      if (after !== undefined) await sleep(o.pollIntervalMs, signal)
      const { value, revision } = await o.read({ signal, timeoutMs: o.requestTimeoutMs })
      if (after === revision) return undefined
      // A revision below the one asked for comes from another backend object: start over.
      return { value, revision, reset: after !== undefined && compareRevisions(revision, after) < 0 }
    },
  })
}
