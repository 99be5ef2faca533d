/**
 * Config in Consul's KV store. Writes go through `/v1/txn`, which applies a set or a
 * compare-and-set (`cas` with Index = ModifyIndex, 0 for "absent") atomically and answers
 * the new ModifyIndex, so the version a put returns is the one it wrote (a plain
 * `PUT /v1/kv` answers only `true`). Values are JSON text, at most 512 KB (Consul's cap).
 */
import type { CallContext, PutConfigOptions } from '../../backend.js'
import { ConflictError, InvalidArgumentError, ProtocolError } from '../../errors.js'
import type { Logger } from '../../internal/logger.js'
import { CONFIG_KEY_PATTERN } from '../../internal/names.js'
import type { Transport, TransportResponse } from '../../transport/types.js'
import { isRevision, type ConfigEntry } from '../../types.js'
import { describeValue } from '../../internal/describe.js'
import { decodeKvValue } from './codec.js'

const MAX_VALUE_BYTES = 512 * 1024

export function checkConfigKey(key: unknown): string {
  if (typeof key !== 'string' || !CONFIG_KEY_PATTERN.test(key)) throw new InvalidArgumentError(`config key must match ${String(CONFIG_KEY_PATTERN)}, got ${describeValue(key)}`)
  return key
}

function checkVersion(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!isRevision(value) || !Number.isSafeInteger(Number(value))) throw new InvalidArgumentError(`${name} must be a decimal ModifyIndex, got ${describeValue(value)}`)
  return Number(value)
}

/** The entry of a GET /v1/kv/:key answer (a one-element array), or undefined for a 404. */
export function decodeKvAnswer(key: string, answer: TransportResponse<unknown>): ConfigEntry | undefined {
  if (answer.status === 404) return undefined
  const first = Array.isArray(answer.body) ? (answer.body[0] as Record<string, unknown> | undefined) : undefined
  if (first === undefined || typeof first.ModifyIndex !== 'number') {
    throw new ProtocolError(`consul: GET /v1/kv for "${key}" answered ${describeValue(answer.body)}, not a KV entry`)
  }
  return { key, value: decodeKvValue(first.Value), version: String(first.ModifyIndex) }
}

export interface KvDeps {
  readonly transport: Transport
  /** The key as a URL path (segments encoded). */
  readonly path: (key: string) => string
  /** The key as stored, for /v1/txn bodies. */
  readonly rawKey: (key: string) => string
  readonly query: Record<string, string | undefined>
  readonly timeoutMs: number
  readonly logger: Logger
}

function call(ctx: CallContext, d: KvDeps): { timeoutMs: number; signal?: AbortSignal } {
  return { timeoutMs: ctx.timeoutMs ?? d.timeoutMs, ...(ctx.signal === undefined ? {} : { signal: ctx.signal }) }
}

export async function getKv(d: KvDeps, key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
  const answer = await d.transport.request({ method: 'GET', path: `/v1/kv/${d.path(key)}`, query: d.query, accept: [404], ...call(ctx, d) })
  return decodeKvAnswer(key, answer)
}

interface TxnAnswer {
  Results?: { KV?: { ModifyIndex?: number } }[] | null
  Errors?: { What?: string }[] | null
}

async function txn(d: KvDeps, ops: unknown[], idempotent: boolean, ctx: CallContext): Promise<TransportResponse<TxnAnswer>> {
  // A conditional op that succeeded and is then repeated would fail as stale: no retry for those.
  return d.transport.request<TxnAnswer>({ method: 'PUT', path: '/v1/txn', query: d.query, body: ops, accept: [409], idempotent, ...call(ctx, d) })
}

async function conflict(d: KvDeps, key: string, expected: string, ctx: CallContext): Promise<ConflictError> {
  const current = await getKv(d, key, ctx).catch(() => undefined)
  const currentVersion = current?.version ?? '0'
  return new ConflictError(`config "${key}" is at version ${currentVersion}, not ${expected}`, { details: { key, currentVersion, expectedVersion: expected } })
}

export async function putKv(d: KvDeps, key: string, value: unknown, options: PutConfigOptions, ctx: CallContext): Promise<ConfigEntry> {
  if (value === undefined) throw new InvalidArgumentError(`config "${key}" value must be JSON, got undefined`)
  const cas = checkVersion('ifVersion', options?.ifVersion)
  const bytes = Buffer.from(JSON.stringify(value), 'utf8')
  if (bytes.length > MAX_VALUE_BYTES) {
    d.logger.warn(`consul backend: config "${key}" refused, ${bytes.length} bytes is over Consul's ${MAX_VALUE_BYTES}`)
    throw new InvalidArgumentError(`config "${key}" is ${bytes.length} bytes as JSON, over Consul's KV limit of ${MAX_VALUE_BYTES}`, { details: { key, bytes: bytes.length } })
  }
  const op = cas === undefined ? { Verb: 'set', Key: d.rawKey(key), Value: bytes.toString('base64') } : { Verb: 'cas', Key: d.rawKey(key), Value: bytes.toString('base64'), Index: cas }
  const answer = await txn(d, [{ KV: op }], cas === undefined, ctx)
  if (answer.status === 409) throw await conflict(d, key, options.ifVersion!, ctx)
  const modifyIndex = answer.body?.Results?.[0]?.KV?.ModifyIndex
  if (typeof modifyIndex !== 'number') throw new ProtocolError(`consul: PUT /v1/txn answered ${describeValue(answer.body)}, without the new ModifyIndex`)
  return { key, value: JSON.parse(bytes.toString('utf8')) as unknown, version: String(modifyIndex) }
}

/** A txn `get` then `delete` fails as a whole when the key is absent: true only when it removed a value. */
export async function deleteKv(d: KvDeps, key: string, options: PutConfigOptions, ctx: CallContext): Promise<boolean> {
  const cas = checkVersion('ifVersion', options?.ifVersion)
  if (cas === 0) {
    const current = await getKv(d, key, ctx)
    if (current !== undefined) throw await conflict(d, key, '0', ctx)
    return false
  }
  const path = d.rawKey(key)
  const ops = cas === undefined ? [{ KV: { Verb: 'get', Key: path } }, { KV: { Verb: 'delete', Key: path } }] : [{ KV: { Verb: 'delete-cas', Key: path, Index: cas } }]
  const answer = await txn(d, ops, false, ctx)
  if (answer.status !== 409) return true
  if (cas === undefined) return false
  const current = await getKv(d, key, ctx)
  if (current === undefined) return false
  throw await conflict(d, key, options.ifVersion!, ctx)
}
