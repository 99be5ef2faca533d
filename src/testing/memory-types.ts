/** Value types of the in-memory backend's controls and records. */
import type { Instance } from '../types.js'
import type { MemoryOperation } from './fault-plan.js'

export interface RecordedCall {
  readonly op: MemoryOperation
  /** Service, key or instance the call was about. */
  readonly target: string
  readonly at: number
}

/** An instance as the registry holds it, with its lease (none for instances added by the test). */
export interface HeldInstance {
  readonly instance: Instance
  /** Undefined for an instance without a lease (added with addInstance, never expires). */
  readonly ttlMs: number | undefined
  readonly registeredAt: number
  readonly renewedAt: number
}

export interface MemoryBackendOptions {
  /** How long a change feed waits before reading again after it answered an injected error. Default 50 ms. */
  readonly watchReopenMs?: number
  /**
   * Every open change feed is told its state is still current this often (`Watcher.confirmed`),
   * as a server's keep-alives or unchanged blocking answers do; the interval is unref'd, so
   * fake timers drive it. Default: never (call `confirmWatches()` yourself).
   */
  readonly confirmIntervalMs?: number
}

/** What an empty window empties: service lists, config reads, or both. */
export interface EmptyScope {
  readonly services?: boolean
  readonly config?: boolean
}
