/**
 * createRouting: gov.dispatcher and gov.fetch over a RoutingSource (discovery), with the
 * per-request trackers that feed the balancers' stats and the upstream metrics.
 */
import type { Dispatcher, Response } from 'undici'
import { ClientClosedError } from '../errors.js'
import type { Logger } from '../internal/logger.js'
import { settledWithin } from '../internal/timers.js'
import type { UpstreamRecorder } from '../metrics/upstream.js'
import { RoutingDispatcher } from './dispatcher.js'
import { createRoutedFetch, type RoutedFetch, type RoutedRequestInit } from './fetch.js'
import type { ResolvedRoutingOptions } from './options.js'
import { Tracker } from './tracker.js'
import type { RoutingSource } from './types.js'

export interface RoutingContext {
  readonly source: RoutingSource
  readonly logger: Logger
  /** How long close() lets routed requests in flight finish before cutting them. */
  readonly requestTimeoutMs: number
  readonly upstream?: UpstreamRecorder | undefined
}

export interface Routing {
  /** The routing as an undici Dispatcher. */
  readonly dispatcher: Dispatcher
  /** undici's fetch where a URL host that is a service name is resolved and balanced. */
  fetch(input: string | URL, init?: RoutedRequestInit): Promise<Response>
  /** Refuses new routed requests, lets those in flight finish (up to requestTimeoutMs), then cuts them. Idempotent. */
  close(): Promise<void>
}

export function createRouting(options: ResolvedRoutingOptions, ctx: RoutingContext): Routing {
  return new ServiceRouting(options, ctx)
}

class ServiceRouting implements Routing {
  readonly dispatcher: RoutingDispatcher
  readonly #fetch: RoutedFetch
  readonly #ctx: RoutingContext
  #closing: Promise<void> | undefined

  constructor(options: ResolvedRoutingOptions, ctx: RoutingContext) {
    this.#ctx = ctx
    const { source, upstream, logger } = ctx
    this.dispatcher = new RoutingDispatcher({
      ...options,
      source,
      begin: (service, instance) => new Tracker(service, source.statsOf(service, instance), upstream, logger),
    })
    this.#fetch = createRoutedFetch(this.dispatcher)
  }

  fetch(input: string | URL, init?: RoutedRequestInit): Promise<Response> {
    if (this.#closing) return Promise.reject(new ClientClosedError('routing is closed'))
    return this.#fetch(input, init)
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  /**
   * undici's close() waits for every routed request in flight, which an instance that never
   * answers holds for minutes: they get requestTimeoutMs to finish, then are cut.
   */
  async #close(): Promise<void> {
    const { requestTimeoutMs, logger } = this.#ctx
    const closing = this.dispatcher.close()
    if (await settledWithin(closing, requestTimeoutMs)) return
    logger.warn(`routing: routed requests still in flight after ${requestTimeoutMs} ms at close(); aborting them`)
    await this.dispatcher.destroy().catch(() => undefined)
  }
}
