/** Names and limits of protocol section 3, and the registration body of section 5. */
import { INSTANCE_STATUSES, type InstanceStatus } from '../types.js'
import { badRequest } from './http-error.js'
import { CONFIG_KEY_PATTERN as CONFIG_KEY, INSTANCE_ID_PATTERN as INSTANCE_ID, SERVICE_NAME_PATTERN as SERVICE_NAME } from '../internal/names.js'

// No whitespace (any Unicode space) and no C0/C1 control characters.
const ADDRESS = /^[^\s\u0000-\u001f\u007f-\u009f]{1,253}$/u

export const MIN_TTL_MS = 1_000
export const MAX_TTL_MS = 600_000

/** Shortens a value for an error message, so a 5,000-character name is not echoed back. */
export function quote(value: unknown): string {
  let text: string
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value))
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

function checkName(kind: string, pattern: RegExp, value: string): string {
  if (!pattern.test(value)) throw badRequest(`invalid ${kind} ${quote(value)}: must match ${pattern.source}`)
  return value
}

export const checkServiceName = (value: string): string => checkName('service name', SERVICE_NAME, value)
export const checkInstanceId = (value: string): string => checkName('instance id', INSTANCE_ID, value)
export const checkConfigKey = (value: string): string => checkName('config key', CONFIG_KEY, value)

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function requireObject(value: unknown, what: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw badRequest(`${what} must be a JSON object, not ${quote(value)}`)
  return value
}

export function requireInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${field} must be an integer from ${min} to ${max}, not ${quote(value)}`)
  }
  return value
}

/** Lengths are JavaScript string lengths (UTF-16 code units). */
export function requireString(value: unknown, field: string, min: number, max: number): string {
  if (typeof value !== 'string' || value.length < min || value.length > max) {
    throw badRequest(`${field} must be a string of ${min} to ${max} characters, not ${quote(value)}`)
  }
  return value
}

/** What a registration body holds once checked; `ttlMs` is already clamped. */
export interface RegistrationBody {
  readonly address: string
  readonly port: number
  readonly ttlMs: number
  readonly status: InstanceStatus
  readonly metadata: Readonly<Record<string, string>>
  readonly tags: readonly string[]
  readonly zone?: string
  readonly weight: number
}

export function parseRegistration(body: unknown): RegistrationBody {
  const o = requireObject(body, 'the registration body')
  const address = o['address']
  if (typeof address !== 'string' || !ADDRESS.test(address)) {
    throw badRequest(`address must be 1-253 characters without whitespace or control characters, not ${quote(address)}`)
  }
  const ttl = o['ttlMs']
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl)) throw badRequest(`ttlMs must be an integer, not ${quote(ttl)}`)
  return {
    address,
    port: requireInteger(o['port'], 'port', 1, 65_535),
    ttlMs: Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, ttl)),
    status: parseStatus(o['status']),
    metadata: parseMetadata(o['metadata']),
    tags: parseTags(o['tags']),
    ...(o['zone'] === undefined ? {} : { zone: requireString(o['zone'], 'zone', 1, 128) }),
    weight: o['weight'] === undefined ? 1 : requireInteger(o['weight'], 'weight', 0, 1_000),
  }
}

export function parseStatus(value: unknown): InstanceStatus {
  if (value === undefined) return 'UP'
  if (typeof value === 'string' && (INSTANCE_STATUSES as readonly string[]).includes(value)) return value as InstanceStatus
  throw badRequest(`status must be one of ${INSTANCE_STATUSES.join(', ')}, not ${quote(value)}`)
}

function parseMetadata(value: unknown): Record<string, string> {
  if (value === undefined) return {}
  const o = requireObject(value, 'metadata')
  const entries = Object.entries(o)
  if (entries.length > 64) throw badRequest(`metadata has ${entries.length} entries, more than 64`)
  for (const [key, v] of entries) {
    requireString(key, 'a metadata key', 1, 128)
    requireString(v, `metadata[${quote(key)}]`, 0, 1_024)
  }
  // fromEntries defines own properties, so a "__proto__" key stays a plain entry.
  return Object.fromEntries(entries) as Record<string, string>
}

function parseTags(value: unknown): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw badRequest(`tags must be an array of strings, not ${quote(value)}`)
  if (value.length > 32) throw badRequest(`tags has ${value.length} entries, more than 32`)
  return value.map((tag, i) => requireString(tag, `tags[${i}]`, 1, 128))
}
