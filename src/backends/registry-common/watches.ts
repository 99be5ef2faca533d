/**
 * The watches one registry backend holds: each runs on the shared watch loop, and
 * `stopAll()` (the backend's close) ends every one still subscribed.
 */
import type { Unsubscribe, Watcher, WatchOptions } from '../../backend.js'
import { InvalidArgumentError } from '../../errors.js'
import type { BackoffOptions } from '../../internal/backoff.js'
import { describeValue } from '../../internal/describe.js'
import type { Logger } from '../../internal/logger.js'
import { startWatchLoop, type WatchStep } from '../../internal/watch-loop.js'

export interface WatchSpec<T> {
  readonly name: string
  readonly watcher: Watcher<T>
  readonly options: WatchOptions | undefined
  readonly step: WatchStep<T>
  /** 0 for steps that wait by themselves (polls); default the loop's guard. */
  readonly minEmptyStepMs?: number
  /** Runs once when the watch is unsubscribed (e.g. releasing a shared poller). */
  readonly onStop?: () => void
}

export class BackendWatches {
  private readonly stops = new Set<Unsubscribe>()

  constructor(
    private readonly logger: Logger,
    private readonly backoff: BackoffOptions,
  ) {}

  start<T>(spec: WatchSpec<T>): Unsubscribe {
    const after = spec.options?.afterRevision
    if (after !== undefined && !/^(0|[1-9][0-9]*)$/.test(after)) throw new InvalidArgumentError(`afterRevision must be a decimal string, got ${describeValue(after)}`)
    const stop = startWatchLoop<T>({
      name: spec.name,
      watcher: spec.watcher,
      step: spec.step,
      logger: this.logger,
      backoff: this.backoff,
      ...(spec.minEmptyStepMs === undefined ? {} : { minEmptyStepMs: spec.minEmptyStepMs }),
      ...(after === undefined ? {} : { afterRevision: after }),
    })
    const unsubscribe = (): void => {
      if (!this.stops.delete(unsubscribe)) return
      stop()
      spec.onStop?.()
    }
    this.stops.add(unsubscribe)
    return unsubscribe
  }

  stopAll(): void {
    for (const stop of [...this.stops]) stop()
  }
}

/** Tells the watcher the server vouched for its state; a throwing callback must not break the feed. */
export function confirm(watcher: Watcher<unknown>, revision: string | undefined): void {
  if (revision === undefined) return
  try {
    watcher.confirmed?.({ revision })
  } catch {
    // Watcher contract: callbacks never throw into the backend.
  }
}
