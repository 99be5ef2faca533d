/** What the lease keeper tells the log and the application about failures and overrides. */
import { isRetryableError, type GovernanceError } from '../errors.js'
import type { EmitFn } from '../events.js'
import type { Logger } from '../internal/logger.js'
import type { InstanceOverride } from '../types.js'

export interface ReportTarget {
  readonly logger: Logger
  readonly emit: EmitFn
  readonly service: string
  readonly instanceId: string
}

/**
 * A failed call. A refusal is an error (final when register() gives up on it); of the
 * retryable ones, the first failure and every tenth are warnings: the rest would flood the log.
 */
export function reportFailure(t: ReportTarget, what: string, error: GovernanceError, failures: number, final: boolean): void {
  const fields = { service: t.service, instanceId: t.instanceId, failures, error }
  if (!isRetryableError(error)) t.logger.error(refusalMessage(what, error, final), fields)
  else if (failures === 1 || failures % 10 === 0) t.logger.warn(`${what} failed; retrying with backoff`, fields)
  else t.logger.debug(`${what} failed; retrying with backoff`, fields)
  t.emit('registry:renewFailed', { service: t.service, instanceId: t.instanceId, failures, error })
}

/** A refusal is final when register() gives up on it; an auth refusal names the credentials. */
function refusalMessage(what: string, error: GovernanceError, final: boolean): string {
  const fix = error.code === 'GOV_AUTH_REFUSED' ? 'check the credentials (token, user, password)' : 'check the instance and the options'
  return final ? `${what} rejected by the server (${error.code}); not retrying, register() rejects: ${fix}` : `${what} rejected by the server (${error.code}); will keep trying: ${fix}`
}

/** Tells the application when an operator takes over (or hands back) this instance's status or weight. */
export class OverrideNotice {
  /** The override the last heartbeat answer reported, as JSON, to report only a change. */
  #seen = ''

  note(t: ReportTarget, override: InstanceOverride | undefined): void {
    const seen = override === undefined ? '' : JSON.stringify([override.status, override.weight])
    if (seen === this.#seen) return
    this.#seen = seen
    t.logger.info(override ? 'an operator overrides this instance' : 'the operator override of this instance was cleared', { service: t.service, instanceId: t.instanceId, ...override })
    t.emit('registry:overridden', { service: t.service, instanceId: t.instanceId, override })
  }
}
