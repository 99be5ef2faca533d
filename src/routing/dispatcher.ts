/**
 * gov.dispatcher: an undici Dispatcher that routes requests whose URL host is a service name
 * (http://payments/charge) to a balanced instance and passes every other request through,
 * a host naming no registered service included (unless `strict`).
 *
 * Routing (with src/transport/) is the one place that imports undici: it carries the
 * application's own requests, not the client's calls to its server.
 */
import { Agent, Dispatcher, getGlobalDispatcher } from 'undici'
import { ClientClosedError } from '../errors.js'
import { headerValue } from './hash-header.js'
import { RoutedRequest, type RouteSettings } from './routed-request.js'
import type { RequestTracker, RoutingSource } from './types.js'
import type { Instance } from '../types.js'

export interface RoutingDispatcherOptions {
  readonly source: RoutingSource
  /** Counts a request to `instance` as in flight until its tracker ends. */
  readonly begin: (service: string, instance: Instance) => RequestTracker
  /** `url.host` → service name, or undefined for a pass-through. */
  readonly serviceHost: (host: string) => string | undefined
  /** Default: undici's global dispatcher, looked up per request. */
  readonly passthrough?: Dispatcher | undefined
  readonly connectTimeoutMs: number
  readonly retryConnectFailures: boolean
  /** A name with no registered instance fails instead of passing through. Default false. */
  readonly strict?: boolean | undefined
  /** Lower-cased name of the header that carries a request's hash key. */
  readonly hashHeader?: string | undefined
}

/** Origins seen, so that a URL is parsed once per origin, not per request; bounded. */
const MAX_ORIGINS = 512
const NOT_A_SERVICE = ''

export class RoutingDispatcher extends Dispatcher {
  readonly #options: RoutingDispatcherOptions
  readonly #agent: Agent
  readonly #settings: RouteSettings
  readonly #origins = new Map<string, { service: string; protocol: string }>()
  #closed = false

  constructor(options: RoutingDispatcherOptions) {
    super()
    this.#options = options
    this.#agent = new Agent({ connect: { timeout: options.connectTimeoutMs } })
    this.#settings = {
      source: options.source,
      begin: options.begin,
      agent: this.#agent,
      retryConnectFailures: options.retryConnectFailures,
      strict: options.strict ?? false,
      passthrough: () => this.#passthrough(),
      live: new Set(),
    }
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.dispatchKeyed(options, handler, undefined)
  }

  /** dispatch() with the request's hash key (gov.fetch's `hashKey`); without one, the `hashHeader`'s value. */
  dispatchKeyed(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, hashKey: string | undefined): boolean {
    const target = this.#route(options.origin)
    if (target.service === NOT_A_SERVICE) return this.#passthrough().dispatch(options, handler)
    if (this.#closed) {
      handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, new ClientClosedError('gov.dispatcher is closed'))
      return true
    }
    const header = this.#options.hashHeader
    const key = hashKey ?? (header === undefined ? undefined : headerValue(options.headers, header))
    new RoutedRequest(this.#settings, target.service, target.protocol, options, handler, key).start()
    return true
  }

  override close(): Promise<void>
  override close(callback: () => void): void
  override close(callback?: () => void): Promise<void> | void {
    this.#closed = true
    const done = this.#agent.close()
    if (callback === undefined) return done
    done.then(callback, callback)
  }

  override destroy(): Promise<void>
  override destroy(err: Error | null): Promise<void>
  override destroy(callback: () => void): void
  override destroy(err: Error | null, callback: () => void): void
  override destroy(errOrCallback?: Error | null | (() => void), callback?: () => void): Promise<void> | void {
    this.#closed = true
    const err = typeof errOrCallback === 'function' ? null : (errOrCallback ?? null)
    const cb = typeof errOrCallback === 'function' ? errOrCallback : callback
    const reason = err ?? new ClientClosedError('gov.dispatcher was destroyed')
    for (const request of [...this.#settings.live]) request.abort(reason)
    const done = this.#agent.destroy(err)
    if (cb === undefined) return done
    done.then(cb, cb)
  }

  #passthrough(): Dispatcher {
    return this.#options.passthrough ?? getGlobalDispatcher()
  }

  #route(origin: Dispatcher.DispatchOptions['origin']): { service: string; protocol: string } {
    const key = typeof origin === 'string' ? origin : origin === undefined ? '' : origin.origin
    let target = this.#origins.get(key)
    if (target === undefined) {
      target = this.#classify(key)
      if (this.#origins.size >= MAX_ORIGINS) this.#origins.clear()
      this.#origins.set(key, target)
    }
    return target
  }

  #classify(origin: string): { service: string; protocol: string } {
    let url: URL
    try {
      url = new URL(origin)
    } catch {
      return { service: NOT_A_SERVICE, protocol: '' }
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { service: NOT_A_SERVICE, protocol: '' }
    let service: string | undefined
    try {
      service = this.#options.serviceHost(url.host)
    } catch {
      service = undefined
    }
    return { service: typeof service === 'string' && service !== '' ? service : NOT_A_SERVICE, protocol: url.protocol }
  }
}
