/** What the client hands each subsystem: the backend and the shared channels. */
import type { Backend } from '../backend.js'
import type { EmitFn } from '../events.js'
import type { Logger } from './logger.js'
import type { Clock } from './timers.js'

export interface SubsystemContext {
  readonly backend: Backend
  /** The facade's guarded emit (internal/safe-emit.ts): never throws, so loops need no wrapper. */
  readonly emit: EmitFn
  readonly logger: Logger
  readonly clock: Clock
  /** Where snapshots and spilled batches go; absent means memory only. */
  readonly dataDir?: string
  /** Per-call deadline for the backend's single calls. */
  readonly requestTimeoutMs: number
}
