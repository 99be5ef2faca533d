/**
 * Blocking-query steps for the shared watch loop (src/internal/watch-loop.ts): each step is
 * one `GET …?index=N&wait=D` that the server holds until the resource changes past N.
 */
import { compareRevisions, type ConfigEntry, type ServiceSnapshot } from '../../types.js'
import type { Watcher } from '../../backend.js'
import type { Logger } from '../../internal/logger.js'
import type { WatchStep, WatchStepResult } from '../../internal/watch-loop.js'

/** What a blocking read returns: the state and the resource index it is at. */
export interface IndexedState<T> {
  readonly value: T
  readonly index: string
}

export interface BlockingReads {
  listService(service: string, after: string | undefined, signal: AbortSignal): Promise<IndexedState<ServiceSnapshot>>
  readConfig(key: string, after: string | undefined, signal: AbortSignal): Promise<IndexedState<ConfigEntry | undefined>>
}

/**
 * Section 4's rules: the same index means the wait elapsed (nothing new); a higher one is
 * a change; a lower one means the server was reset, so the answer replaces everything.
 */
export function toStepResult<T>(after: string | undefined, state: IndexedState<T>): WatchStepResult<T> | undefined {
  if (after === undefined) return { value: state.value, revision: state.index, reset: false }
  const order = compareRevisions(state.index, after)
  if (order === 0) return undefined
  return { value: state.value, revision: state.index, reset: order < 0 }
}

export function serviceStep(reads: BlockingReads, service: string): WatchStep<ServiceSnapshot> {
  return async (after, signal) => toStepResult(after, await reads.listService(service, after, signal))
}

export function configStep(reads: BlockingReads, key: string): WatchStep<ConfigEntry | undefined> {
  return async (after, signal) => toStepResult(after, await reads.readConfig(key, after, signal))
}

/**
 * Wraps a step so that a blocking query answered unchanged (the wait elapsed, the index
 * did not move) tells the watcher the server confirmed its state: freshness counts from
 * that answer, not from the last change.
 */
export function confirming<T>(step: WatchStep<T>, watcher: Watcher<T>, logger: Logger): WatchStep<T> {
  return async (after, signal) => {
    const result = await step(after, signal)
    if (result === undefined && after !== undefined && !signal.aborted && watcher.confirmed !== undefined) {
      try {
        watcher.confirmed({ revision: after })
      } catch (error) {
        logger.warn('http watch: watcher.confirmed threw', { error })
      }
    }
    return result
  }
}
