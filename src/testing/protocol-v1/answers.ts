/**
 * Protocol v1 answers (docs/protocol.md) as fetch-API Responses, and how the test
 * registry's failures look on the wire: an outage is a network error, a malformed answer
 * is a body that is not JSON, other errors are the protocol's error answers.
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
import type { ConfigEntry, ServiceSnapshot } from '../../types.js'
import { injectedFault } from '../fault-plan.js'
import type { HeldInstance } from '../memory-types.js'

export const INDEX_HEADER = 'x-governance-index'

/** A lease length for instances the test added without one, so that answers stay valid. */
const UNLEASED_TTL_MS = 15_000

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
}

export function errorAnswer(status: number, code: string, message: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}): Response {
  return json(status, { error: { code, message, ...extra } }, headers)
}

/** The answer of a server that sends garbage: JSON cut short. */
export function malformedAnswer(): Response {
  return new Response('{"instances": [{"id": "cut sh', { status: 200, headers: { 'content-type': 'application/json' } })
}

export function instanceJson(held: HeldInstance): Record<string, unknown> {
  return { ...held.instance, ttlMs: held.ttlMs ?? UNLEASED_TTL_MS, registeredAt: held.registeredAt, renewedAt: held.renewedAt }
}

export function serviceAnswer(snapshot: ServiceSnapshot, held: (id: string) => HeldInstance | undefined): Response {
  const instances = snapshot.instances.map((i) => {
    const h = held(i.id)
    return h ? instanceJson(h) : { ...i, ttlMs: UNLEASED_TTL_MS }
  })
  return json(200, { service: snapshot.service, instances, index: snapshot.revision }, { [INDEX_HEADER]: snapshot.revision })
}

export function configAnswer(key: string, entry: ConfigEntry | undefined, index: string): Response {
  if (!entry) return errorAnswer(404, 'not_found', `no config key ${key}`, { index }, { [INDEX_HEADER]: index })
  return json(200, { key, value: entry.value, version: entry.version, index }, { [INDEX_HEADER]: index })
}

/** The wire form of a failure: what the client's backend will turn back into the same kind of error. */
export function failureAnswer(error: unknown): Response {
  if (error instanceof HttpError) return errorAnswer(error.status, error.code, error.message, { ...error.extra }, { ...error.headers })
  // An aborted call (the client went away) and an injected outage look the same: no answer.
  if (!isGovernanceError(error) || injectedFault(error) === 'unreachable') return Response.error()
  const message = error.message
  if (error instanceof ProtocolError) return malformedAnswer()
  if (error instanceof LeaseLostError || error instanceof NotFoundError) return errorAnswer(404, 'not_found', message)
  if (error instanceof ConflictError) {
    return errorAnswer(409, 'conflict', message, { currentVersion: String(error.details?.['currentVersion'] ?? '0') })
  }
  if (error instanceof AuthError) return error.status === 403 ? errorAnswer(403, 'forbidden', message) : errorAnswer(401, 'unauthorized', message)
  if (error instanceof RequestRejectedError || error instanceof InvalidArgumentError || error instanceof ValidationError) {
    return errorAnswer(400, 'bad_request', message)
  }
  if (error instanceof TimeoutError) return errorAnswer(504, 'unavailable', message)
  if (error instanceof ServerUnavailableError) return errorAnswer(503, 'unavailable', message)
  return errorAnswer(500, 'internal', message)
}
