/**
 * How the test registry's failures look on the wire: an outage (or a client that went
 * away) is no answer at all, a malformed answer is a body that is not JSON, other errors
 * are the protocol's error answers, which the client's backend turns back into the same
 * kind of error.
 */
import {
  AuthError,
  ConflictError,
  InvalidArgumentError,
  LeaseLostError,
  NotFoundError,
  ProtocolError,
  RequestRejectedError,
  ServerUnavailableError,
  TimeoutError,
  ValidationError,
  isGovernanceError,
} from '../../errors.js'
import { HttpError } from '../../server/http-error.js'
import { DROPPED, type Answer } from '../../server/protocol/answer.js'
import { injectedFault } from '../fault-plan.js'

/** The answer of a server that sends garbage: JSON cut short. */
const MALFORMED: Answer = { status: 200, text: '{"instances": [{"id": "cut sh' }

/** The answer to a failure of a test registry call (the protocol handler's translateError). */
export function failureAnswer(error: unknown): HttpError | Answer {
  // An aborted call (the client went away) and an injected outage look the same: no answer.
  if (!isGovernanceError(error) || injectedFault(error) === 'unreachable') return DROPPED
  const message = error.message
  if (error instanceof ProtocolError) return MALFORMED
  if (error instanceof LeaseLostError || error instanceof NotFoundError) return new HttpError(404, 'not_found', message)
  if (error instanceof ConflictError) {
    return new HttpError(409, 'conflict', message, { extra: { currentVersion: String(error.details?.['currentVersion'] ?? '0') } })
  }
  if (error instanceof AuthError) return error.status === 403 ? new HttpError(403, 'forbidden', message) : new HttpError(401, 'unauthorized', message)
  if (error instanceof RequestRejectedError || error instanceof InvalidArgumentError || error instanceof ValidationError) {
    return new HttpError(400, 'bad_request', message)
  }
  if (error instanceof TimeoutError) return new HttpError(504, 'unavailable', message)
  if (error instanceof ServerUnavailableError) return new HttpError(503, 'unavailable', message)
  return new HttpError(500, 'internal', message)
}
