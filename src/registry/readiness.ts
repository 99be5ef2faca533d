/**
 * Readiness for container platforms (a Kubernetes readinessProbe on /readyz): ready while
 * this instance is registered, its lease held and its status UP, so that the platform and
 * the registry agree on whether it should get traffic.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { InstanceStatus } from '../types.js'
import type { RegistrationState } from './registration.js'

export interface ReadinessSource {
  readonly registrationState: RegistrationState
  readonly status: InstanceStatus
}

/** 'renewing-failed' still holds the lease (renewals fail, the deadline has not passed). */
const LEASE_HELD: ReadonlySet<RegistrationState> = new Set(['registered', 'renewing-failed'])

export function isReady(source: ReadinessSource): boolean {
  return LEASE_HELD.has(source.registrationState) && source.status === 'UP'
}

export type ReadinessHandler = (req: IncomingMessage, res: ServerResponse) => void

/** 200 while ready, 503 otherwise; the body says why, for people reading probe logs. */
export function createReadinessHandler(source: ReadinessSource): ReadinessHandler {
  return (req, res) => {
    const ready = isReady(source)
    const body = JSON.stringify({ ready, state: source.registrationState, status: source.status })
    res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) })
    res.end(req.method === 'HEAD' ? undefined : body)
  }
}
