/**
 * One request to a service: pick an instance, send there, report the outcome, and send it
 * once more to another instance when the retry rule allows (retry-rule.ts). A name with no
 * registered instance passes through to the normal network unless routing is strict. It is
 * the handler undici calls back for each attempt and forwards to the application's handler.
 */
import type { Dispatcher } from 'undici'
import { isGovernanceError, NoAvailableInstanceError, toGovernanceError, UpstreamError } from '../errors.js'
import type { Instance } from '../types.js'
import { ControllerProxy } from './controller-proxy.js'
import { mayResend } from './retry-rule.js'
import type { RequestTracker, RoutingSource } from './types.js'

type Handler = Dispatcher.DispatchHandler
type Controller = Dispatcher.DispatchController

export interface RouteSettings {
  readonly source: RoutingSource
  /** Counts a request to `instance` as in flight until its tracker ends. */
  readonly begin: (service: string, instance: Instance) => RequestTracker
  /** Where instance-bound requests go (routing's own Agent). */
  readonly agent: Dispatcher
  readonly retryConnectFailures: boolean
  /** Names with no registered instance fail instead of passing through. */
  readonly strict: boolean
  /** Where a request to a name that is not a service goes. */
  readonly passthrough: () => Dispatcher
  /**
   * The requests not finished yet. undici's Agent forgets its pools on close(), after which
   * its destroy() reaches no request: the dispatcher aborts these itself when destroyed.
   */
  readonly live: Set<RoutedRequest>
}

export class RoutedRequest implements Handler {
  readonly #settings: RouteSettings
  readonly #service: string
  readonly #protocol: string
  readonly #options: Dispatcher.DispatchOptions
  readonly #downstream: Handler
  readonly #proxy = new ControllerProxy()
  /** The request's hash key (consistentHash()), or undefined. */
  readonly #hashKey: string | undefined
  #instance: Instance | undefined
  #tracker: RequestTracker | undefined
  #attempts = 0
  /** onRequestStart came for the current attempt: bytes may have been written. */
  #attemptStarted = false
  #downstreamStarted = false
  #responded = false

  constructor(settings: RouteSettings, service: string, protocol: string, options: Dispatcher.DispatchOptions, downstream: Handler, hashKey?: string) {
    this.#settings = settings
    this.#hashKey = hashKey
    this.#service = service
    this.#protocol = protocol
    this.#options = options
    this.#downstream = downstream
  }

  /** Sends at once when the cache is warm, otherwise after discovery answers. */
  start(): void {
    this.#settings.live.add(this)
    const context = this.#hashKey === undefined ? undefined : { hashKey: this.#hashKey }
    const instance = this.#settings.source.pickSync(this.#service, context)
    if (instance !== undefined) return this.#send(instance)
    this.#settings.source.pick(this.#service, context).then(
      (picked) => this.#send(picked),
      (error: unknown) => {
        if (!this.#settings.strict && isUnknownService(error)) return this.#passThrough()
        this.#fail(toGovernanceError(error, `routing to service ${this.#service} failed`))
      },
    )
  }

  /** The host names no registered service: the request goes to the network as it is. */
  #passThrough(): void {
    this.#settings.live.delete(this)
    if (this.#proxy.abortReason !== null) return this.#fail(this.#proxy.abortReason)
    try {
      this.#settings.passthrough().dispatch(this.#options, this.#downstream)
    } catch (error) {
      this.#fail(toGovernanceError(error, `passing a request for ${this.#service} through failed`))
    }
  }

  #send(instance: Instance): void {
    if (this.#proxy.abortReason !== null) return this.#fail(this.#proxy.abortReason)
    this.#instance = instance
    this.#tracker = this.#settings.begin(this.#service, instance)
    this.#attempts++
    this.#attemptStarted = false
    const options = { ...this.#options, origin: `${this.#protocol}//${this.#tracker.hostPort}` }
    try {
      this.#settings.agent.dispatch(options, this)
    } catch (error) {
      this.onResponseError(null, error as Error)
    }
  }

  /** Fails the request before any attempt reached undici. */
  #fail(error: Error): void {
    this.#settings.live.delete(this)
    this.#downstream.onResponseError?.(this.#proxy, error)
  }

  /** Ends the request now, whichever attempt is running (or the next one, before it starts). */
  abort(reason: Error): void {
    this.#proxy.abort(reason)
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#proxy.target = controller
    this.#attemptStarted = true
    if (this.#downstreamStarted) return
    this.#downstreamStarted = true
    this.#downstream.onRequestStart?.(this.#proxy, context)
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: Parameters<NonNullable<Handler['onRequestUpgrade']>>[2], socket: Parameters<NonNullable<Handler['onRequestUpgrade']>>[3]): void {
    this.#responded = true
    this.#settings.live.delete(this)
    this.#tracker?.end({ status: statusCode })
    this.#downstream.onRequestUpgrade?.(this.#proxy, statusCode, headers, socket)
  }

  onResponseStarted(): void {
    this.#downstream.onResponseStarted?.()
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Parameters<NonNullable<Handler['onResponseStart']>>[2], statusMessage?: string): void {
    if (statusCode >= 200 && !this.#responded) {
      this.#responded = true
      this.#tracker?.end({ status: statusCode })
    }
    this.#downstream.onResponseStart?.(this.#proxy, statusCode, headers, statusMessage)
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    this.#downstream.onResponseData?.(this.#proxy, chunk)
  }

  onResponseEnd(_controller: Controller, trailers: Parameters<NonNullable<Handler['onResponseEnd']>>[1]): void {
    this.#settings.live.delete(this)
    this.#downstream.onResponseEnd?.(this.#proxy, trailers)
  }

  onResponseError(controller: Controller | null, error: Error): void {
    if (!this.#responded) {
      this.#tracker?.end({ error: true })
      const next = this.#retryTarget(controller, error)
      if (next !== undefined) return this.#send(next)
    }
    this.#settings.live.delete(this)
    this.#downstream.onResponseError?.(this.#proxy, this.#upstreamError(controller, error))
  }

  /** The instance's failure, saying which instance; aborts and the client's own errors stay as they are. */
  #upstreamError(controller: Controller | null, error: Error): Error {
    if (isGovernanceError(error) || this.#proxy.aborted || controller?.aborted || this.#instance === undefined) return error
    const instance = this.#instance
    const address = this.#tracker?.hostPort ?? `${instance.address}:${instance.port}`
    return new UpstreamError(`request to service ${this.#service}, instance ${instance.id} at ${address} failed: ${error.message}`, {
      cause: error,
      details: { service: this.#service, instanceId: instance.id, address, attempts: this.#attempts },
    })
  }

  onBodySent(chunk: Buffer): void {
    this.#downstream.onBodySent?.(chunk)
  }

  onRequestSent(): void {
    this.#downstream.onRequestSent?.()
  }

  /** Another instance for a second attempt, or undefined when this failure is final. */
  #retryTarget(controller: Controller | null, error: Error): Instance | undefined {
    if (!this.#settings.retryConnectFailures || this.#attempts >= 2 || this.#proxy.aborted || controller?.aborted) return undefined
    if (!mayResend({ method: String(this.#options.method), body: this.#options.body, error, written: this.#attemptStarted })) return undefined
    // Exact for every balancer: the failed instance is excluded, not re-drawn and hoped against.
    if (this.#instance === undefined) return undefined
    const exclude = new Set([this.#instance.id])
    return this.#settings.source.pickSync(this.#service, this.#hashKey === undefined ? { exclude } : { exclude, hashKey: this.#hashKey })
  }
}

/** Discovery's answer for a name the registry holds no instance of. */
function isUnknownService(error: unknown): boolean {
  return error instanceof NoAvailableInstanceError && error.details?.['registered'] === 0
}
