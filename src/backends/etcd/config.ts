/**
 * Config entries: one key per name holding JSON `{ "value": … }`. The version is the
 * key's mod_revision; compare-and-set is a txn comparing it (or create_revision == 0 for
 * "must not exist"), so the check and the write are one atomic step at the server.
 */
import type { CallContext, PutConfigOptions } from '../../backend.js'
import { ConflictError, InvalidArgumentError, ProtocolError } from '../../errors.js'
import { isRevision, type ConfigEntry } from '../../types.js'
import { asRecord, describe, encodeText } from './codec.js'
import type { Gateway } from './gateway.js'
import { parseKeyValue, put, range, txn, type KeyValue } from './kv.js'

/** The entry stored in `kv`; a value that is not our JSON shape is a protocol error naming the key. */
export function decodeConfig(key: string, kv: KeyValue): ConfigEntry {
  let stored: unknown
  try {
    stored = JSON.parse(kv.value)
  } catch {
    throw new ProtocolError(`etcd key ${kv.key} (config "${key}") does not hold JSON`, { details: { field: 'value', key } })
  }
  if (typeof stored !== 'object' || stored === null || !Object.hasOwn(stored, 'value')) {
    throw new ProtocolError(`etcd key ${kv.key} (config "${key}") does not hold {"value": …}, got ${describe(stored)}`, {
      details: { field: 'value', key },
    })
  }
  return { key, value: (stored as { value: unknown }).value, version: kv.modRevision }
}

export function encodeConfig(key: string, value: unknown): string {
  let text: string | undefined
  try {
    text = JSON.stringify({ value })
  } catch (error) {
    throw new InvalidArgumentError(`config "${key}" value cannot be encoded as JSON`, { cause: error })
  }
  if (value === undefined || text === undefined) throw new InvalidArgumentError(`config "${key}" value must be JSON, got undefined`)
  return text
}

export async function readConfig(gateway: Gateway, etcdKey: string, key: string, ctx: CallContext): Promise<ConfigEntry | undefined> {
  const { kvs } = await range(gateway, etcdKey, {}, ctx)
  const kv = kvs[0]
  return kv === undefined ? undefined : decodeConfig(key, kv)
}

function guard(etcdKey: string, ifVersion: string | undefined): Record<string, unknown>[] {
  if (ifVersion === undefined) return []
  if (!isRevision(ifVersion)) throw new InvalidArgumentError(`ifVersion must be a decimal version string, got ${describe(ifVersion)}`)
  const key = encodeText(etcdKey)
  // Enum fields must be spelled out: EQUAL and VERSION are defaults the gateway would assume.
  return ifVersion === '0'
    ? [{ key, target: 'CREATE', result: 'EQUAL', create_revision: '0' }]
    : [{ key, target: 'MOD', result: 'EQUAL', mod_revision: ifVersion }]
}

function conflict(key: string, ifVersion: string, responses: readonly Record<string, unknown>[]): ConflictError {
  const read = responses[0] === undefined ? {} : asRecord(responses[0].response_range, 'txn failure response_range')
  const kvs = Array.isArray(read.kvs) ? read.kvs : []
  const current = kvs[0] === undefined ? '0' : parseKeyValue(kvs[0], 'txn failure kvs[0]').modRevision
  return new ConflictError(`config "${key}" is at version ${current}, not ${ifVersion}`, {
    details: { key, currentVersion: current, expectedVersion: ifVersion },
  })
}

export async function writeConfig(
  gateway: Gateway,
  etcdKey: string,
  key: string,
  value: unknown,
  options: PutConfigOptions,
  ctx: CallContext,
): Promise<ConfigEntry> {
  const text = encodeConfig(key, value)
  const stored = JSON.parse(text).value as unknown
  // An unconditional write is a plain put: cheaper for etcd than a txn with no comparison.
  if (options.ifVersion === undefined) return { key, value: stored, version: await put(gateway, etcdKey, text, undefined, ctx) }
  const result = await txn(
    gateway,
    {
      compare: guard(etcdKey, options.ifVersion),
      success: [{ request_put: { key: encodeText(etcdKey), value: encodeText(text) } }],
      failure: [{ request_range: { key: encodeText(etcdKey) } }],
    },
    ctx,
  )
  if (!result.succeeded) throw conflict(key, options.ifVersion ?? '', result.responses)
  // The txn's header revision is the revision of the put, hence the new mod_revision.
  return { key, value: stored, version: result.revision }
}

export async function removeConfig(
  gateway: Gateway,
  etcdKey: string,
  key: string,
  options: PutConfigOptions,
  ctx: CallContext,
): Promise<boolean> {
  const result = await txn(
    gateway,
    {
      compare: guard(etcdKey, options.ifVersion),
      success: [{ request_delete_range: { key: encodeText(etcdKey) } }],
      failure: [{ request_range: { key: encodeText(etcdKey) } }],
    },
    ctx,
  )
  if (!result.succeeded) throw conflict(key, options.ifVersion ?? '', result.responses)
  const first = result.responses[0]
  const deleted = first === undefined ? {} : asRecord(first.response_delete_range, 'txn response_delete_range')
  return deleted.deleted !== undefined && deleted.deleted !== '0' && deleted.deleted !== 0
}
