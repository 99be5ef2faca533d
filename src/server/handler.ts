/** What the reference server's route handlers share, and the waiter hub's resource names. */
import type { WaiterHub } from './waiter-hub.js'
import type { ConfigStore } from './config-store.js'
import type { Logger } from '../internal/logger.js'
import type { IndexCounter } from './index-counter.js'
import type { MetricHistory } from './metric-history.js'
import type { MetricsStore } from './metrics-store.js'
import type { RegistryStore } from './registry-store.js'
import type { ServerLimits } from './limits.js'
import type { ServerStats } from './server-stats.js'

export interface ServerState {
  readonly counter: IndexCounter
  readonly registry: RegistryStore
  readonly config: ConfigStore
  readonly metrics: MetricsStore
  readonly history: MetricHistory
  readonly hub: WaiterHub
  readonly stats: ServerStats
  readonly limits: ServerLimits
  /** Whether tokens are configured (history then marks writers as token holders). */
  readonly authEnabled: boolean
  readonly logger: Logger
}

export const serviceResource = (service: string): string => `svc:${service}`
/** Woken by a change to any service, for blocking reads of the service list. */
export const SERVICES_RESOURCE = 'svc-list'
export const configResource = (key: string): string => `cfg:${key}`
