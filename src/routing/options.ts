/**
 * Routing's options (`discovery.routing`, the user-facing key kept where it always was):
 * defaults and eager validation, with messages naming `discovery.routing.<option>`.
 */
import type { Dispatcher } from 'undici'
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from '../internal/describe.js'
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

function fail(message: string): never {
  throw new InvalidArgumentError(message)
}

const show = describeValue

export function resolveRoutingOptions(raw: RoutingOptions | undefined): ResolvedRoutingOptions {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) fail(`discovery.routing must be an object, got ${show(raw)}`)
  const r: RoutingOptions = raw ?? {}
  // A misspelt option would otherwise be ignored in silence, and its default used instead.
  for (const key of Object.keys(r)) if (!ROUTING_KEYS.includes(key)) fail(`discovery.routing.${key} is not an option (known: ${ROUTING_KEYS.join(', ')})`)
  if (r.serviceHost !== undefined && typeof r.serviceHost !== 'function') fail(`discovery.routing.serviceHost must be a function, got ${show(r.serviceHost)}`)
  if (r.passthrough !== undefined && typeof (r.passthrough as { dispatch?: unknown } | null)?.dispatch !== 'function') {
    fail(`discovery.routing.passthrough must be an undici Dispatcher, got ${show(r.passthrough)}`)
  }
  if (r.retryConnectFailures !== undefined && typeof r.retryConnectFailures !== 'boolean') {
    fail(`discovery.routing.retryConnectFailures must be a boolean, got ${show(r.retryConnectFailures)}`)
  }
  if (r.strict !== undefined && typeof r.strict !== 'boolean') fail(`discovery.routing.strict must be a boolean, got ${show(r.strict)}`)
  if (r.hashHeader !== undefined && (typeof r.hashHeader !== 'string' || !HEADER_NAME.test(r.hashHeader))) {
    fail(`discovery.routing.hashHeader must be an HTTP header name, got ${show(r.hashHeader)}`)
  }
  const timeout = r.connectTimeoutMs
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < 1)) {
    fail(`discovery.routing.connectTimeoutMs must be an integer >= 1, got ${show(timeout)}`)
  }
  return Object.freeze({
    serviceHost: r.serviceHost ?? defaultServiceHost,
    passthrough: r.passthrough,
    connectTimeoutMs: timeout ?? ROUTING_DEFAULTS.connectTimeoutMs,
    retryConnectFailures: r.retryConnectFailures ?? true,
    strict: r.strict ?? false,
    hashHeader: r.hashHeader?.toLowerCase(),
  })
}
