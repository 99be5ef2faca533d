/**
 * Routing's options (`discovery.routing`, the user-facing key kept where it always was):
 * defaults and eager validation, with messages naming `discovery.routing.<option>`.
 */
import type { Dispatcher } from 'undici'
import { bool, durationMs, failOption, func, objectOption, string } from '../internal/options-kit.js'
import { defaultServiceHost } from './service-host.js'

export interface RoutingOptions {
  /**
   * Maps a URL's host (`url.host`, port included) to a service name, or undefined to pass the
   * request through untouched. Default: a host without a port or a dot that is not
   * `localhost`, taken as the service name (`http://payments/charge` → `payments`).
   */
  serviceHost?: (host: string) => string | undefined
  /** Where requests to other hosts go. Default: undici's global dispatcher at request time. */
  passthrough?: Dispatcher
  /** Connect timeout towards instances. Default 3,000 ms. */
  connectTimeoutMs?: number
  /**
   * Send a request once more to another instance when it failed before any byte left (connect
   * refused, reset before the write; any method), or when an idempotent one failed on a
   * broken connection. Default true.
   */
  retryConnectFailures?: boolean
  /**
   * A host that serviceHost maps to a name with no registered instance goes to the normal
   * network (a Kubernetes Service, /etc/hosts, DNS) unless strict: then the request fails
   * with NoAvailableInstanceError. Default false.
   */
  strict?: boolean
  /**
   * A request header whose value is the request's hash key (`consistentHash()` sends equal
   * keys to the same instance), for requests through gov.dispatcher; gov.fetch also takes
   * `{ hashKey }`. Default: none.
   */
  hashHeader?: string
}

export interface ResolvedRoutingOptions {
  readonly serviceHost: (host: string) => string | undefined
  readonly passthrough: Dispatcher | undefined
  readonly connectTimeoutMs: number
  readonly retryConnectFailures: boolean
  readonly strict: boolean
  /** Lower-cased header name, or undefined. */
  readonly hashHeader: string | undefined
}

export const ROUTING_DEFAULTS = Object.freeze({ connectTimeoutMs: 3_000 })

const ROUTING_KEYS: readonly string[] = ['serviceHost', 'passthrough', 'connectTimeoutMs', 'retryConnectFailures', 'strict', 'hashHeader']
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

export function resolveRoutingOptions(raw: RoutingOptions | undefined): ResolvedRoutingOptions {
  const r = objectOption('discovery.routing', raw, ROUTING_KEYS)
  if (r.passthrough !== undefined && typeof (r.passthrough as { dispatch?: unknown } | null)?.dispatch !== 'function') {
    failOption('discovery.routing.passthrough', 'must be an undici Dispatcher', r.passthrough)
  }
  const hashHeader = string('discovery.routing.hashHeader', r.hashHeader, { pattern: HEADER_NAME, rule: 'must be an HTTP header name' })
  return Object.freeze({
    serviceHost: func<(host: string) => string | undefined>('discovery.routing.serviceHost', r.serviceHost) ?? defaultServiceHost,
    passthrough: r.passthrough as Dispatcher | undefined,
    connectTimeoutMs: durationMs('discovery.routing.connectTimeoutMs', r.connectTimeoutMs, { default: ROUTING_DEFAULTS.connectTimeoutMs }),
    retryConnectFailures: bool('discovery.routing.retryConnectFailures', r.retryConnectFailures, true),
    strict: bool('discovery.routing.strict', r.strict, false),
    hashHeader: hashHeader?.toLowerCase(),
  })
}
