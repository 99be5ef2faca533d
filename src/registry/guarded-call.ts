/** The registration loop's backend calls: guarded (see internal/guarded-call.ts), failures typed. */
import { toGovernanceError, type GovernanceError } from '../errors.js'

export { guardedCall } from '../internal/guarded-call.js'

/** A failure as a GovernanceError, naming the operation when the backend threw something else. */
export function asGovernanceError(error: unknown, what: string): GovernanceError {
  return toGovernanceError(error, `${what} failed`)
}
