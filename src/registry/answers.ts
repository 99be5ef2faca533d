/**
 * Guards on what a backend hands the registration loop. The protocol v1 backend already
 * decodes strictly; a third-party backend might not, and a lease without a usable TTL would
 * turn the heartbeat loop into a tight loop (a NaN delay is no delay) or a silent no-op.
 */
import { ProtocolError } from '../errors.js'
import { describeValue } from '../internal/describe.js'
import type { InstanceSpec, Lease, RenewResult } from '../types.js'

export function checkLease(backend: string, spec: InstanceSpec, lease: unknown): Lease {
  const l = lease as Partial<Lease> | null
  const problem =
    typeof lease !== 'object' || l === null
      ? `no lease object (${describeValue(lease)})`
      : typeof l.id !== 'string' || l.id === ''
        ? `lease.id ${describeValue(l.id)} is not a non-empty string`
        : l.service !== spec.service || l.instanceId !== spec.id
          ? `a lease for ${describeValue(l.service)}/${describeValue(l.instanceId)}, not ${spec.service}/${spec.id}`
          : ttlProblem(l.ttlMs)
  if (problem !== undefined) throw malformed(backend, 'register', spec, problem)
  return lease as Lease
}

export function checkRenewal(backend: string, lease: Lease, result: unknown): RenewResult {
  const problem = typeof result !== 'object' || result === null ? `no result object (${describeValue(result)})` : ttlProblem((result as Partial<RenewResult>).ttlMs)
  if (problem !== undefined) throw malformed(backend, 'renew', lease, problem)
  return result as RenewResult
}

function ttlProblem(ttlMs: unknown): string | undefined {
  if (typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs > 0) return undefined
  return `ttlMs ${describeValue(ttlMs)} is not a positive number of ms`
}

function malformed(backend: string, op: string, target: { service: string; id?: string; instanceId?: string }, problem: string): ProtocolError {
  const instance = `${target.service}/${target.instanceId ?? target.id}`
  return new ProtocolError(`backend ${backend} answered ${op} of ${instance} with a malformed answer: ${problem}`, {
    details: { backend, op, service: target.service },
  })
}
