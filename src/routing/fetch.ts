/** gov.fetch: undici's fetch over the routing dispatcher. */
import { Dispatcher, fetch, type RequestInit, type Response } from 'undici'
import { InvalidArgumentError, UpstreamError, isGovernanceError } from '../errors.js'
import { describeValue } from '../internal/describe.js'
import type { RoutingDispatcher } from './dispatcher.js'

/** gov.fetch's init: undici's RequestInit (the dispatcher is routing's own) and the request's hash key. */
export type RoutedRequestInit = Omit<RequestInit, 'dispatcher'> & {
  /** Equal keys go to the same instance under `consistentHash()`; other balancers ignore it. */
  readonly hashKey?: string
}

export type RoutedFetch = (input: string | URL, init?: RoutedRequestInit) => Promise<Response>

/**
 * The routing dispatcher with one request's hash key: undici's fetch hands the dispatcher
 * only what it dispatches, so the key rides on a per-call view of it.
 */
class KeyedDispatcher extends Dispatcher {
  readonly #target: RoutingDispatcher
  readonly #hashKey: string

  constructor(target: RoutingDispatcher, hashKey: string) {
    super()
    this.#target = target
    this.#hashKey = hashKey
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#target.dispatchKeyed(options, handler, this.#hashKey)
  }
}

/**
 * Everything the client throws is a GovernanceError, gov.fetch included: undici's fetch
 * wraps failures in a bare TypeError("fetch failed"), so the GovernanceError behind it
 * (NoAvailableInstanceError, the UpstreamError of a routed request naming its instance…) is
 * rethrown itself, and a failure of a request passed through becomes an UpstreamError with
 * `details.url`, keeping the network error as `cause`. An abort still rejects with the signal's
 * reason. Arguments that are wrong before any request exists reject with
 * InvalidArgumentError naming them, as every other call of the client does.
 */
export function createRoutedFetch(dispatcher: RoutingDispatcher): RoutedFetch {
  return (input, init) => {
    const problem = argumentProblem(input, init)
    if (problem !== undefined) return Promise.reject(new InvalidArgumentError(`gov.fetch: ${problem}`))
    const hashKey = init?.hashKey
    let request: RequestInit = { ...init, dispatcher }
    if (hashKey !== undefined) {
      const { hashKey: _key, ...rest } = init!
      request = { ...rest, dispatcher: new KeyedDispatcher(dispatcher, hashKey) }
    }
    return fetch(input, request).catch((error: unknown) => {
      throw unwrapFetchError(error, input)
    })
  }
}

function unwrapFetchError(error: unknown, input: unknown): unknown {
  if (!(error instanceof TypeError) || error.cause === undefined) return error
  if (isGovernanceError(error.cause)) return error.cause
  const target = input instanceof URL ? input.href : isRequestLike(input) ? (input as { url: string }).url : String(input)
  const reason = error.cause instanceof Error ? error.cause.message : String(error.cause)
  return new UpstreamError(`gov.fetch ${target} failed: ${reason}`, { cause: error.cause, details: { url: target } })
}

function argumentProblem(input: unknown, init: unknown): string | undefined {
  if (typeof input === 'string') {
    if (!URL.canParse(input)) return `url must be an absolute URL such as "http://payments/charge", got ${describeValue(input)}`
  } else if (!(input instanceof URL) && !isRequestLike(input)) {
    return `url must be a URL string, a URL or a Request, got ${describeValue(input)}`
  }
  if (init === undefined) return undefined
  if (typeof init !== 'object' || init === null || Array.isArray(init)) return `init must be an object (RequestInit), got ${describeValue(init)}`
  const signal = (init as { signal?: unknown }).signal
  if (signal !== undefined && signal !== null && !(signal instanceof AbortSignal)) return `init.signal must be an AbortSignal, got ${describeValue(signal)}`
  const hashKey = (init as { hashKey?: unknown }).hashKey
  if (hashKey !== undefined && typeof hashKey !== 'string') return `init.hashKey must be a string, got ${describeValue(hashKey)}`
  return undefined
}

/** A Request (undici's, the global one, or a compatible class): fetch takes it as input. */
function isRequestLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { url?: unknown }).url === 'string' && typeof (value as { method?: unknown }).method === 'string'
}
