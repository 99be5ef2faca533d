/**
 * node:diagnostics_channel publishing: one channel per client event
 * (`governance-client:<event>`, e.g. `governance-client:registry:renewed`) and the tracing
 * channel `governance-client:backend` around every backend call. Nothing is built or
 * published while nobody subscribes: each site checks `hasSubscribers` first.
 */
import { channel, tracingChannel, type Channel } from 'node:diagnostics_channel'
import type { Backend } from '../backend.js'
import { GOVERNANCE_EVENT_NAMES, type GovernanceEventName } from '../events.js'

export const CHANNEL_PREFIX = 'governance-client:'
export const BACKEND_TRACING_CHANNEL = 'governance-client:backend'

const eventChannels = new Map<GovernanceEventName, Channel>(GOVERNANCE_EVENT_NAMES.map((name) => [name, channel(`${CHANNEL_PREFIX}${name}`)]))

/** Publishes a client event on its channel, when someone listens. */
export function publishEvent(event: GovernanceEventName, payload: unknown): void {
  const ch = eventChannels.get(event)
  if (ch !== undefined && ch.hasSubscribers) ch.publish(payload)
}

/** What a backend call's tracing context holds (plus `result` or `error`, set by Node). */
export interface BackendCallContext {
  readonly backend: string
  readonly operation: string
  /** The service or config key the call is about, when it has one. */
  readonly target?: string
}

const backendCalls = tracingChannel<BackendCallContext>(BACKEND_TRACING_CHANNEL)
const TRACED = new Set(['register', 'renew', 'deregister', 'resolve', 'getConfig', 'putConfig', 'deleteConfig'])

/**
 * The backend with its request/response calls wrapped in the tracing channel. A Proxy, so
 * that optional members (watchService, putConfig, …) stay present or absent as they are.
 */
export function traceBackend(backend: Backend): Backend {
  // By function, not by name: a method replaced later (a test spy) is picked up.
  const wrappers = new WeakMap<object, unknown>()
  return new Proxy(backend, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof property !== 'string' || typeof value !== 'function') return value
      // Every method runs with the backend itself as `this`: one with #private fields
      // would throw when called on the Proxy.
      let wrapper = wrappers.get(value)
      if (wrapper === undefined) {
        const method = value as (...args: unknown[]) => Promise<unknown>
        wrapper = TRACED.has(property) ? traced(target, property, method) : method.bind(target)
        wrappers.set(value, wrapper)
      }
      return wrapper
    },
  })
}

function traced(backend: Backend, operation: string, call: (...args: unknown[]) => Promise<unknown>) {
  return (...args: unknown[]): Promise<unknown> => {
    if (!backendCalls.hasSubscribers) return call.apply(backend, args)
    const subject = args[0]
    const target = typeof subject === 'string' ? subject : ((subject as { service?: string } | undefined)?.service ?? undefined)
    const context: BackendCallContext = target === undefined ? { backend: backend.name, operation } : { backend: backend.name, operation, target }
    return backendCalls.tracePromise(() => call.apply(backend, args), context)
  }
}
