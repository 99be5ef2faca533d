/** What route handlers receive and share. */
import type { IncomingMessage } from 'node:http'
import { WaiterHub, type BlockingParams } from './blocking.js'
import type { ConfigStore } from './config-store.js'
import type { Logger } from '../internal/logger.js'
import type { IndexCounter } from './index-counter.js'
import type { MetricHistory } from './metric-history.js'
import type { MetricsStore } from './metrics-store.js'
import type { RegistryStore } from './registry-store.js'
import type { Answer } from './respond.js'
import type { ServerLimits } from './limits.js'
import type { ServerStats } from './server-stats.js'

export interface RequestContext {
  readonly req: IncomingMessage
  readonly params: Readonly<Record<string, string>>
  readonly query: URLSearchParams
  /** Aborts when the client goes away, so a held query can let go. */
  readonly signal: AbortSignal
  /** The parsed JSON body for routes that take one; undefined when none was sent. */
  readonly body: unknown
}

export type Handler = (ctx: RequestContext) => Promise<Answer> | Answer

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

/** Holds the request while the resource is still at the index the client sent (section 4). */
export async function holdWhileCurrent(
  state: ServerState,
  resource: string,
  currentIndex: () => bigint,
  blocking: BlockingParams,
  ctx: RequestContext,
): Promise<void> {
  if (WaiterHub.mustHold(currentIndex(), blocking.index)) await state.hub.wait(resource, blocking.waitMs, ctx.signal, clientAddress(ctx.req))
}

/** The peer's address, the unit of the per-client limits and of history's `writer`. */
export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? ''
  return address.startsWith('::ffff:') ? address.slice(7) : address
}
