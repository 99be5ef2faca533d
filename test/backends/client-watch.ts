/**
 * Watches of a backend that has no watch methods (the seed centers cannot push), made
 * through a GovernanceClient: the core polls the backend, and a WatchRecorder hears what
 * the client delivers (gov.subscribe, gov.config.watch) and every read the core's poll saw
 * fail. So the behaviour suite's watch asserts hold for such a backend too, through the
 * seam its users have.
 */
import type { Backend, Unsubscribe, Watcher, WatchOptions } from '../../src/backend.js'
import { GovernanceClient } from '../../src/client.js'
import { toGovernanceError } from '../../src/errors.js'
import { compareRevisions, type ConfigEntry, type ServiceSnapshot } from '../../src/types.js'

export interface ClientWatches {
  watchService(service: string, watcher: Watcher<ServiceSnapshot>, options?: WatchOptions): Unsubscribe
  watchConfig(key: string, watcher: Watcher<ConfigEntry | undefined>): Unsubscribe
  close(): Promise<void>
}

export function clientWatches(backend: Backend, pollIntervalMs = 50): ClientWatches {
  const failed = new Set<(error: unknown) => void>()
  const report = <R>(call: Promise<R>): Promise<R> =>
    call.catch((error: unknown) => {
      for (const f of failed) f(error)
      throw error
    })
  // The backend as the client sees it: its reads report their failures; closing the client leaves it open.
  const view = new Proxy(backend, {
    get(target, property) {
      if (property === 'close') return async () => {}
      const value: unknown = Reflect.get(target, property)
      if (property === 'resolve' || property === 'getConfig') {
        return (name: string, ctx: object) => report((value as (n: string, c: object) => Promise<unknown>).call(target, name, ctx))
      }
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  const gov = new GovernanceClient({
    backend: view,
    logger: false,
    metrics: false,
    discovery: { pollIntervalMs, minNotifyIntervalMs: 0, recoveryBackoff: { minDelayMs: 20, maxDelayMs: 200 } },
    config: { pollIntervalMs },
  })
  gov.on('error', () => {})
  const hearFailures = (watcher: Watcher<never>): (() => void) => {
    const onFailure = (error: unknown): void => watcher.error(toGovernanceError(error))
    failed.add(onFailure)
    return () => failed.delete(onFailure)
  }
  return {
    watchService(service, watcher, options) {
      const after = options?.afterRevision
      const stopFailures = hearFailures(watcher as Watcher<never>)
      const stop = gov.subscribe(service, (change) => {
        // A backend watch resumed after a revision delivers only what is newer.
        if (after !== undefined && compareRevisions(change.revision, after) <= 0) return
        watcher.next({ service, revision: change.revision, instances: change.instances }, { revision: change.revision, reset: change.reset && !change.first })
      })
      return () => {
        stopFailures()
        stop()
      }
    },
    watchConfig(key, watcher) {
      const stopFailures = hearFailures(watcher as Watcher<never>)
      const stop = gov.config.watch(key, (value, change) => {
        const entry = change.version === undefined ? undefined : { key, value, version: change.version }
        watcher.next(entry, { revision: change.version ?? '0', reset: false })
      })
      return () => {
        stopFailures()
        stop()
      }
    },
    close: () => gov.close(),
  }
}
