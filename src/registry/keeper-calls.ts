/**
 * The lease keeper's backend calls, each guarded (a deadline and a cancel signal the keeper
 * can rely on whatever the backend does) and its answer checked before the keeper trusts it.
 */
import type { Backend, CallContext } from '../backend.js'
import { guardedCall } from '../internal/guarded-call.js'
import type { InstanceSpec, Lease, RenewResult } from '../types.js'
import { checkLease, checkRenewal } from './answers.js'

export interface CallTarget {
  readonly backend: Backend
  readonly requestTimeoutMs: number
  readonly service: string
  readonly instanceId: string
}

function call<T>(t: CallTarget, what: string, fn: (ctx: CallContext) => Promise<T>, signal: AbortSignal): Promise<T> {
  return guardedCall(`${what} of ${t.service}/${t.instanceId}`, fn, t.requestTimeoutMs, signal)
}

export async function registerCall(t: CallTarget, spec: InstanceSpec, signal: AbortSignal): Promise<Lease> {
  return checkLease(t.backend.name, spec, await call(t, 'register', (ctx) => t.backend.register(spec, ctx), signal))
}

export async function renewCall(t: CallTarget, lease: Lease, signal: AbortSignal): Promise<RenewResult> {
  return checkRenewal(t.backend.name, lease, await call(t, 'renew', (ctx) => t.backend.renew(lease, ctx), signal))
}

/** Through `backend.update()` when the backend has it (the lease is kept), else a register (upsert). */
export async function statusUpdateCall(t: CallTarget, lease: Lease, spec: InstanceSpec, signal: AbortSignal): Promise<Lease> {
  const { backend } = t
  const send = (ctx: CallContext): Promise<Lease> => (backend.update ? backend.update(lease, { status: spec.status, weight: spec.weight }, ctx) : backend.register(spec, ctx))
  return checkLease(backend.name, spec, await call(t, 'status update', send, signal))
}
