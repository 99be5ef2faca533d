/** The feed engine (src/feed/) set up to follow one service: resolve(), watchService() when the backend has it. */
import type { Backend } from '../backend.js'
import { Feed } from '../feed/feed.js'
import type { FeedListener } from '../feed/types.js'
import type { Logger } from '../internal/logger.js'
import type { ServiceSnapshot } from '../types.js'
import type { ResolvedDiscoveryOptions } from './options.js'
import { checkSnapshot } from './snapshot-check.js'

export interface FollowDeps {
  readonly options: ResolvedDiscoveryOptions
  readonly backend: Backend
  readonly requestTimeoutMs: number
  readonly logger: Logger
  readonly now: () => number
  readonly random: () => number
}

export function followService(service: string, deps: FollowDeps, listener: FeedListener<ServiceSnapshot>): Feed<ServiceSnapshot> {
  const { backend, options } = deps
  const watchService = backend.watchService
  return new Feed<ServiceSnapshot>(
    {
      what: `discovery of ${service}`,
      reading: `resolving ${service}`,
      details: { service },
      read: (ctx) => backend.resolve(service, ctx),
      watch: watchService && ((watcher, o) => watchService.call(backend, service, watcher, o)),
      check: (value) => checkSnapshot(value, service),
      revisionOf: (snapshot) => snapshot.revision,
    },
    listener,
    {
      logger: deps.logger,
      now: deps.now,
      requestTimeoutMs: deps.requestTimeoutMs,
      pollIntervalMs: options.pollIntervalMs,
      backoff: options.recoveryBackoff,
      // discover() waits for an answer: a guarded read first, whatever the backend's watch does.
      readFirst: true,
      silence: { maxStalenessMs: options.maxStalenessMs, refreshAheadMs: options.refreshAheadMs },
      random: deps.random,
    },
  )
}
