/**
 * Strict decoders for protocol v1 answers (docs/protocol.md). Every answer is checked
 * field by field before it is passed on: a wrong shape is a ProtocolError that names the
 * field and what arrived, never an `undefined` or an unchecked value further down.
 * Decoders build fresh objects, so unknown extra fields never leak through.
 */
import { ProtocolError } from '../../errors.js'
import { INSTANCE_STATUSES, isRevision, type ConfigEntry, type Instance, type InstanceStatus, type ServiceSnapshot } from '../../types.js'

type Json = Record<string, unknown>

/** Where an answer came from, for messages: "GET http://host/v1/services/orders". */
export type Source = string

function show(value: unknown): string {
  if (value === undefined) return 'nothing'
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function fail(source: Source, field: string, expected: string, got: unknown): never {
  throw new ProtocolError(`${source}: answer field "${field}" must be ${expected}, got ${show(got)}`, {
    details: { source, field },
  })
}

export function object(source: Source, field: string, value: unknown): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(source, field, 'an object', value)
  return value as Json
}

function string(source: Source, field: string, value: unknown): string {
  if (typeof value !== 'string') fail(source, field, 'a string', value)
  return value
}

function integer(source: Source, field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(source, field, `an integer in [${min}, ${max}]`, value)
  }
  return value
}

function boolean(source: Source, field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') fail(source, field, 'true or false', value)
  return value
}

/** An index or version: a decimal string >= 1 (section 4). */
export function index(source: Source, field: string, value: unknown): string {
  if (!isRevision(value) || value === '0') fail(source, field, 'a decimal string >= 1', value)
  return value
}

function stringRecord(source: Source, field: string, value: unknown): Record<string, string> {
  const obj = object(source, field, value)
  const out: Record<string, string> = {}
  for (const key of Object.keys(obj)) out[key] = string(source, `${field}.${key}`, obj[key])
  return out
}

function stringArray(source: Source, field: string, value: unknown): string[] {
  if (!Array.isArray(value)) fail(source, field, 'an array of strings', value)
  return value.map((v: unknown, i) => string(source, `${field}[${i}]`, v))
}

const STATUSES: ReadonlySet<string> = new Set(INSTANCE_STATUSES)

export function instance(source: Source, field: string, value: unknown): Instance {
  const o = object(source, field, value)
  const status = o.status
  if (typeof status !== 'string' || !STATUSES.has(status)) fail(source, `${field}.status`, `one of ${INSTANCE_STATUSES.join(', ')}`, status)
  const address = string(source, `${field}.address`, o.address)
  if (address.length === 0) fail(source, `${field}.address`, 'a non-empty string', address)
  const decoded: Instance = {
    id: string(source, `${field}.id`, o.id),
    service: string(source, `${field}.service`, o.service),
    address,
    port: integer(source, `${field}.port`, o.port, 1, 65_535),
    status: status as InstanceStatus,
    metadata: stringRecord(source, `${field}.metadata`, o.metadata),
    tags: stringArray(source, `${field}.tags`, o.tags),
    weight: integer(source, `${field}.weight`, o.weight, 0, 1_000),
    ...(o.zone === undefined ? {} : { zone: string(source, `${field}.zone`, o.zone) }),
  }
  return decoded
}

/** `GET /v1/services/{service}`: `{ service, instances, index }`. */
export function serviceList(source: Source, body: unknown, service: string): ServiceSnapshot {
  const o = object(source, 'body', body)
  const name = string(source, 'service', o.service)
  if (name !== service) fail(source, 'service', JSON.stringify(service), name)
  if (!Array.isArray(o.instances)) fail(source, 'instances', 'an array', o.instances)
  const instances = o.instances.map((v: unknown, i) => {
    const inst = instance(source, `instances[${i}]`, v)
    if (inst.service !== service) fail(source, `instances[${i}].service`, JSON.stringify(service), inst.service)
    return inst
  })
  return { service, instances, revision: index(source, 'index', o.index) }
}

/** `GET /v1/services`: `{ services: [{ name, instances }], index }`; the names, sorted. */
export function serviceNames(source: Source, body: unknown): string[] {
  const o = object(source, 'body', body)
  if (!Array.isArray(o.services)) fail(source, 'services', 'an array', o.services)
  const names = o.services.map((v: unknown, i) => string(source, `services[${i}].name`, object(source, `services[${i}]`, v).name))
  return names.sort()
}

/** `PUT …/instances/{id}`: `{ instance, ttlMs, index }`; the instance must be the one sent. */
export function registerAnswer(source: Source, body: unknown, service: string, id: string): { instance: Instance; ttlMs: number } {
  const o = object(source, 'body', body)
  const inst = instance(source, 'instance', o.instance)
  if (inst.id !== id) fail(source, 'instance.id', JSON.stringify(id), inst.id)
  if (inst.service !== service) fail(source, 'instance.service', JSON.stringify(service), inst.service)
  index(source, 'index', o.index)
  return { instance: inst, ttlMs: integer(source, 'ttlMs', o.ttlMs, 1, Number.MAX_SAFE_INTEGER) }
}

/** `PUT …/heartbeat`: `{ ttlMs }`. */
export function renewAnswer(source: Source, body: unknown): { ttlMs: number } {
  const o = object(source, 'body', body)
  return { ttlMs: integer(source, 'ttlMs', o.ttlMs, 1, Number.MAX_SAFE_INTEGER) }
}

/** `DELETE …/instances/{id}`: `{ removed, index }`. */
export function deregisterAnswer(source: Source, body: unknown): { removed: boolean } {
  const o = object(source, 'body', body)
  index(source, 'index', o.index)
  return { removed: boolean(source, 'removed', o.removed) }
}

/** `GET|PUT /v1/config/{key}`: `{ key, value, version, index }`. `value` may be any JSON, null included. */
export function configEntry(source: Source, body: unknown, key: string): ConfigEntry & { index: string } {
  const o = object(source, 'body', body)
  const k = string(source, 'key', o.key)
  if (k !== key) fail(source, 'key', JSON.stringify(key), k)
  if (!('value' in o)) fail(source, 'value', 'present (any JSON value)', undefined)
  return { key, value: o.value, version: index(source, 'version', o.version), index: index(source, 'index', o.index) }
}

/**
 * The index of a missing key (404 on a config read): `error.index` in the body, else the
 * `X-Governance-Index` header. A watch needs it to block until the key appears.
 */
export function missingKeyIndex(source: Source, body: unknown, header: string | undefined): string {
  const o = object(source, 'body', body)
  const err = object(source, 'error', o.error)
  if (err.index !== undefined) return index(source, 'error.index', err.index)
  return index(source, 'X-Governance-Index header', header)
}

/** The stored version a failed compare-and-set reports: `error.currentVersion` ("0": absent). */
export function conflictVersion(source: Source, body: unknown): string {
  const err = object(source, 'error', object(source, 'body', body).error)
  const v = err.currentVersion
  if (!isRevision(v)) fail(source, 'error.currentVersion', 'a decimal string', v)
  return v
}

/** `DELETE /v1/config/{key}`: `{ deleted, index }`. */
export function deleteAnswer(source: Source, body: unknown): boolean {
  const o = object(source, 'body', body)
  index(source, 'index', o.index)
  return boolean(source, 'deleted', o.deleted)
}

/** `POST /v1/metrics`: `{ accepted }` on 202; a repeated batch may answer 200 with any object. */
export function metricsAnswer(source: Source, body: unknown, status: number): void {
  if (status === 200 && body === undefined) return
  const o = object(source, 'body', body)
  if (status === 202 || o.accepted !== undefined) integer(source, 'accepted', o.accepted, 0, Number.MAX_SAFE_INTEGER)
}
