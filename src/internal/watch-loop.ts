/**
 * The reconnecting watch loop every backend reuses for `watchService` / `watchConfig`.
 *
 * A backend supplies one `step`: a single long call that waits for the next change after
 * a revision (a protocol v1 blocking query, one frame of an etcd watch stream, one poll of
 * the seed centers). The loop owns everything around it:
 *
 * - exactly one step in flight at a time, each given the revision of the last delivered
 *   state (or `afterRevision`, or undefined for "the current state, now");
 * - each new state goes to `watcher.next(value, { revision, reset })`; a step that ended
 *   with nothing new goes to `watcher.confirmed({ revision })` (the server confirmed it);
 * - a failing step goes to `watcher.error(err)` (always a GovernanceError), then the loop
 *   sleeps a full-jitter backoff (src/internal/backoff.ts) and tries again, for ever,
 *   until unsubscribed — the Backend contract says a watch re-opens until unsubscribed;
 * - a step that reports "nothing new" suspiciously fast (a server ignoring the wait) is
 *   also followed by a backoff pause, so a misbehaving server cannot make it spin;
 * - the returned Unsubscribe aborts the in-flight step's signal and ends the loop at
 *   once; nothing is delivered after it returns;
 * - a watcher callback that throws (or returns a rejected promise) is caught and logged;
 *   the loop never produces an unhandled rejection.
 *
 * @example
 * ```ts
 * const stop = startWatchLoop({
 *   name: `watch service ${service}`,
 *   watcher,
 *   afterRevision: options?.afterRevision,
 *   step: async (after, signal) => {
 *     const snap = await longPoll(service, after, signal)      // honours `signal`
 *     if (after !== undefined && snap.revision === after) return undefined  // wait elapsed
 *     const reset = after !== undefined && compareRevisions(snap.revision, after) < 0
 *     return { value: snap, revision: snap.revision, reset }
 *   },
 * })
 * // later: stop()
 * ```
 */
import type { Unsubscribe, Watcher } from '../backend.js'
import { ClientClosedError, InvalidArgumentError, ProtocolError, toGovernanceError, type GovernanceError } from '../errors.js'
import { isRevision } from '../types.js'
import { fullJitterDelay, type BackoffOptions } from './backoff.js'
import { silentLogger, type Logger } from './logger.js'
import { sleep } from './timers.js'

/** One new state found by a step. */
export interface WatchStepResult<T> {
  readonly value: T
  /** The server's revision of this state (decimal string); passed to the next step. */
  readonly revision: string
  /** The feed started over (server reset, compaction): `value` replaces, not continues. */
  readonly reset: boolean
}

/**
 * Waits for the next state after `afterRevision` (undefined: answer with the current state
 * at once). Resolves undefined when the wait ended with nothing new. Must honour `signal`:
 * it is aborted on unsubscribe, and whatever the step then throws is ignored.
 */
export type WatchStep<T> = (afterRevision: string | undefined, signal: AbortSignal) => Promise<WatchStepResult<T> | undefined>

export interface WatchLoopOptions<T> {
  readonly step: WatchStep<T>
  readonly watcher: Watcher<T>
  /** Pause after failures (full jitter, exponential). Default 250 ms up to 30 s. */
  readonly backoff?: BackoffOptions
  /** Resume after this revision instead of starting with the current state. */
  readonly afterRevision?: string
  /** Where thrown watcher callbacks and odd steps are reported. Default: silent. */
  readonly logger?: Logger
  /** Names the watch in log lines and errors, e.g. "http watch service orders". */
  readonly name?: string
  /**
   * An empty step (undefined) that returned sooner than this is followed by a backoff
   * pause, so a server that answers a blocking query at once cannot make the loop spin.
   * Default 100 ms; 0 turns the guard off (for a step that sleeps by itself).
   */
  readonly minEmptyStepMs?: number
  /** For tests: the random source of the jitter. */
  readonly random?: () => number
}

/** Stops the loop (like any Unsubscribe); `done` settles once the loop has ended. Never rejects. */
export type WatchLoopHandle = Unsubscribe & { readonly done: Promise<void> }

export const DEFAULT_WATCH_BACKOFF: BackoffOptions = { minDelayMs: 250, maxDelayMs: 30_000 }
const DEFAULT_MIN_EMPTY_STEP_MS = 100

export function startWatchLoop<T>(options: WatchLoopOptions<T>): WatchLoopHandle {
  if (typeof options?.step !== 'function') throw new InvalidArgumentError('startWatchLoop needs a step function')
  if (typeof options.watcher?.next !== 'function' || typeof options.watcher.error !== 'function') {
    throw new InvalidArgumentError('startWatchLoop needs a watcher with next() and error()')
  }
  const controller = new AbortController()
  const logger = options.logger ?? silentLogger
  const name = options.name ?? 'watch'
  const done = runLoop(options, controller.signal, logger, name).catch((error: unknown) => {
    // runLoop catches everything itself; this is the last line of defence against an unhandled rejection.
    logger.error(`${name}: watch loop failed`, { error })
  })
  const stop = (): void => {
    if (!controller.signal.aborted) controller.abort(new ClientClosedError(`${name}: unsubscribed`))
  }
  return Object.assign(stop, { done })
}

async function runLoop<T>(options: WatchLoopOptions<T>, signal: AbortSignal, logger: Logger, name: string): Promise<void> {
  const backoff = options.backoff ?? DEFAULT_WATCH_BACKOFF
  const minEmpty = options.minEmptyStepMs ?? DEFAULT_MIN_EMPTY_STEP_MS
  const random = options.random ?? Math.random
  let revision = options.afterRevision
  let failures = 0
  let quickEmpties = 0
  while (!signal.aborted) {
    const started = Date.now()
    let result: WatchStepResult<T> | undefined
    try {
      result = await options.step(revision, signal)
      if (result !== undefined && !isRevision(result.revision)) {
        throw new ProtocolError(`${name}: the step gave revision ${JSON.stringify(result.revision)}, not a decimal string`)
      }
    } catch (error) {
      if (signal.aborted) return
      deliverError(options.watcher, toGovernanceError(error, `${name}: watch step failed`), logger, name)
      await pause(fullJitterDelay(failures++, backoff, random), signal)
      continue
    }
    if (signal.aborted) return
    failures = 0
    if (result === undefined) {
      // The wait ended with nothing new: the server confirmed the last state is current.
      if (revision !== undefined) deliverConfirmed(options.watcher, revision, logger, name)
      if (Date.now() - started < minEmpty) {
        logger.debug(`${name}: empty answer after ${Date.now() - started} ms; pausing`)
        await pause(fullJitterDelay(quickEmpties++, backoff, random), signal)
      } else quickEmpties = 0
      continue
    }
    quickEmpties = 0
    revision = result.revision
    deliverNext(options.watcher, result, logger, name)
  }
}

/** Sleeps, or returns early (without throwing) when the loop is stopped. */
async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, signal)
  } catch {
    // Aborted: the loop condition ends the loop.
  }
}

function deliverNext<T>(watcher: Watcher<T>, result: WatchStepResult<T>, logger: Logger, name: string): void {
  guard(() => watcher.next(result.value, { revision: result.revision, reset: result.reset }), logger, `${name}: watcher.next threw`)
}

function deliverConfirmed<T>(watcher: Watcher<T>, revision: string, logger: Logger, name: string): void {
  if (typeof watcher.confirmed === 'function') guard(() => watcher.confirmed!({ revision }), logger, `${name}: watcher.confirmed threw`)
}

function deliverError<T>(watcher: Watcher<T>, error: GovernanceError, logger: Logger, name: string): void {
  logger.debug(`${name}: ${error.message}`)
  guard(() => watcher.error(error), logger, `${name}: watcher.error threw`)
}

/** Runs a user callback; a throw or a rejected promise is logged, never propagated. */
function guard(fn: () => unknown, logger: Logger, message: string): void {
  try {
    const out = fn()
    if (typeof (out as PromiseLike<unknown> | undefined)?.then === 'function') {
      ;(out as PromiseLike<unknown>).then(undefined, (error: unknown) => logger.warn(message, { error }))
    }
  } catch (error) {
    logger.warn(message, { error })
  }
}
