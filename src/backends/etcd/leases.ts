/**
 * Leases: a registration is a key attached to a lease; the lease's keepalive is the
 * heartbeat. Lease ids exceed 2^53 and stay decimal strings throughout.
 */
import type { CallContext } from '../../backend.js'
import { ProtocolError, ServerUnavailableError } from '../../errors.js'
import { asRecord, encodeText, int64Field } from './codec.js'
import type { Gateway } from './gateway.js'
import { txn } from './kv.js'

export interface GrantedLease {
  readonly id: string
  /** The TTL etcd applied, which is at least its minimum (about 2 s on default timings). */
  readonly ttlSeconds: number
}

/** Whole seconds, rounded up so that a lease never lapses before the client's ttlMs. */
export function ttlSecondsFor(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000))
}

export async function grantLease(gateway: Gateway, ttlSeconds: number, ctx: CallContext): Promise<GrantedLease> {
  // Field names must be exact: etcd ignores an unknown `ttl` and grants its minimum.
  const { body } = await gateway.post('/v3/lease/grant', { TTL: String(ttlSeconds) }, ctx)
  if (typeof body.error === 'string' && body.error !== '') {
    throw new ProtocolError(`etcd refused the lease grant: ${body.error}`, { details: { field: 'error' } })
  }
  const id = int64Field(body.ID, 'lease grant ID')
  if (id === '0') throw new ProtocolError('etcd granted a lease without an ID', { details: { field: 'ID' } })
  return { id, ttlSeconds: Number(int64Field(body.TTL, 'lease grant TTL')) }
}

/**
 * One keepalive: the TTL in seconds now applied, or undefined when the lease is gone
 * (etcd answers an unknown or expired lease with 200 and no TTL).
 */
export async function keepAliveLease(gateway: Gateway, id: string, ctx: CallContext): Promise<number | undefined> {
  // One POST per keepalive: the gateway answers nothing until the request body ends.
  const { body } = await gateway.post('/v3/lease/keepalive', { ID: id }, ctx, { idempotent: true })
  if (body.error !== undefined) {
    const error = asRecord(body.error, 'keepalive error')
    throw new ServerUnavailableError(`etcd keepalive failed: ${String(error.message ?? 'unknown error')}`, {
      details: { grpcCode: error.grpc_code },
    })
  }
  const result = asRecord(body.result, 'keepalive result')
  const ttl = int64Field(result.TTL, 'keepalive result.TTL')
  return ttl === '0' ? undefined : Number(ttl)
}

/**
 * Rewrites a key that hangs on `lease`, keeping that lease: a txn that puts only while the
 * key is still attached to it. False when it is not (the lease expired, was revoked, or the
 * key was removed or taken over), so a lost instance is never recreated.
 */
export async function putOnLease(gateway: Gateway, key: string, value: string, lease: string, ctx: CallContext): Promise<boolean> {
  const result = await txn(
    gateway,
    {
      compare: [{ key: encodeText(key), target: 'LEASE', result: 'EQUAL', lease }],
      success: [{ request_put: { key: encodeText(key), value: encodeText(value), lease } }],
    },
    ctx,
  )
  return result.succeeded
}

/** Revokes the lease (deleting its keys); true when it existed. */
export async function revokeLease(gateway: Gateway, id: string, ctx: CallContext): Promise<boolean> {
  const answer = await gateway.post('/v3/lease/revoke', { ID: id }, ctx, { idempotent: true, accept: [404] })
  if (answer.status !== 404) return true
  // etcd answers an unknown lease with 404 and gRPC code 5; any other 404 is a wrong URL.
  if (answer.body.code === 5 || /lease not found/i.test(String(answer.body.message ?? answer.body.error ?? ''))) return false
  throw new ProtocolError(`etcd /v3/lease/revoke answered 404 without "lease not found": is this an etcd v3.4+ client URL?`, {
    details: { field: 'status', lease: id },
  })
}
