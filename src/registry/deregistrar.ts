/**
 * Taking the instance off the server: one guarded deregister call, or, for a backend that
 * cannot deregister, one log line saying that the instance stays until it expires.
 */
import { toGovernanceError } from '../errors.js'
import type { SubsystemContext } from '../internal/context.js'
import { guardedCall } from '../internal/guarded-call.js'
import type { Lease } from '../types.js'

export class Deregistrar {
  readonly #ctx: SubsystemContext
  #toldCannot = false

  constructor(ctx: SubsystemContext) {
    this.#ctx = ctx
  }

  /**
   * True once the server has dropped `lease`. A failure rejects when `rethrow` (deregister()
   * reports it); close() only logs it: the instance stays until its TTL runs out.
   */
  async deregister(lease: Lease, signal: AbortSignal | undefined, rethrow: boolean): Promise<boolean> {
    const { backend, requestTimeoutMs, logger, emit } = this.#ctx
    if (!backend.capabilities.deregister) {
      if (!this.#toldCannot) logger.info(`the ${backend.name} backend cannot deregister; the instance stays until it expires`)
      this.#toldCannot = true
      return false
    }
    try {
      await guardedCall(`deregister of ${lease.service}/${lease.instanceId}`, (c) => backend.deregister(lease, c), requestTimeoutMs, signal)
    } catch (error) {
      if (signal?.aborted) throw signal.reason
      const err = toGovernanceError(error, 'deregister failed')
      if (rethrow) throw err
      logger.warn('deregister failed; the instance stays until its TTL runs out', { instanceId: lease.instanceId, error: err })
      return false
    }
    logger.info('deregistered', { service: lease.service, instanceId: lease.instanceId })
    emit('registry:deregistered', { service: lease.service, instanceId: lease.instanceId })
    return true
  }
}
