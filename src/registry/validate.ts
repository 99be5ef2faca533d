/**
 * Field checks for the registration options, following docs/protocol.md section 3.
 * Each check throws an InvalidArgumentError whose message names the option path and the
 * bad value, so a typo fails at construction instead of as a 400 inside a background loop.
 */
import { InvalidArgumentError } from '../errors.js'
import { INSTANCE_STATUSES, type InstanceStatus } from '../types.js'
import { INSTANCE_ID_PATTERN, SERVICE_NAME_PATTERN } from '../internal/names.js'
import { describeValue } from '../internal/describe.js'

export { SERVICE_NAME_PATTERN, INSTANCE_ID_PATTERN }
// Whitespace and C0/C1 controls would corrupt logs and URLs; the protocol forbids them.
const ADDRESS_FORBIDDEN = /[\s\u0000-\u001f\u007f-\u009f]/

const MAX_METADATA_ENTRIES = 64
const MAX_METADATA_KEY = 128
const MAX_METADATA_VALUE = 1_024
const MAX_TAGS = 32
const MAX_TAG = 128
const MAX_ZONE = 128
const MAX_ADDRESS = 253
const MAX_WEIGHT = 1_000

export const show = describeValue

export function fail(path: string, rule: string, value: unknown): never {
  throw new InvalidArgumentError(`${path} ${rule}, got ${show(value)}`, { details: { option: path } })
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

export function checkServiceName(path: string, value: unknown): string {
  if (typeof value !== 'string' || !SERVICE_NAME_PATTERN.test(value)) {
    fail(path, `must match ${String(SERVICE_NAME_PATTERN)} (1-128 letters, digits, '.', '_', '-')`, value)
  }
  return value
}

export function checkInstanceId(path: string, value: unknown): string {
  if (typeof value !== 'string' || !INSTANCE_ID_PATTERN.test(value)) {
    fail(path, `must match ${String(INSTANCE_ID_PATTERN)} (1-128 letters, digits, '.', '_', ':', '-')`, value)
  }
  return value
}

export function checkPort(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65_535) {
    fail(path, 'must be an integer from 1 to 65535', value)
  }
  return value
}

export function checkAddress(path: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > MAX_ADDRESS || ADDRESS_FORBIDDEN.test(value)) {
    fail(path, `must be a host name or IP literal of 1-${MAX_ADDRESS} characters without whitespace or control characters`, value)
  }
  return value
}

export function checkMetadata(path: string, value: unknown): Readonly<Record<string, string>> {
  if (!isPlainObject(value)) fail(path, 'must be a plain object of string values', value)
  const entries = Object.entries(value)
  if (entries.length > MAX_METADATA_ENTRIES) fail(path, `must have at most ${MAX_METADATA_ENTRIES} entries`, entries.length)
  const copy: Record<string, string> = {}
  for (const [key, v] of entries) {
    if (key.length < 1 || key.length > MAX_METADATA_KEY) fail(`${path} key`, `must be 1-${MAX_METADATA_KEY} characters`, key)
    if (typeof v !== 'string' || v.length > MAX_METADATA_VALUE) {
      fail(`${path}.${key}`, `must be a string of at most ${MAX_METADATA_VALUE} characters`, v)
    }
    copy[key] = v
  }
  return Object.freeze(copy)
}

export function checkTags(path: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) fail(path, 'must be an array of strings', value)
  if (value.length > MAX_TAGS) fail(path, `must have at most ${MAX_TAGS} tags`, value.length)
  value.forEach((tag: unknown, i) => {
    if (typeof tag !== 'string' || tag.length < 1 || tag.length > MAX_TAG) fail(`${path}[${i}]`, `must be a string of 1-${MAX_TAG} characters`, tag)
  })
  return Object.freeze([...(value as string[])])
}

export function checkZone(path: string, value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > MAX_ZONE) fail(path, `must be a string of 1-${MAX_ZONE} characters`, value)
  return value
}

export function checkWeight(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_WEIGHT) {
    fail(path, `must be an integer from 0 to ${MAX_WEIGHT}`, value)
  }
  return value
}

export function checkStatus(path: string, value: unknown): InstanceStatus {
  if (typeof value !== 'string' || !(INSTANCE_STATUSES as readonly string[]).includes(value)) {
    fail(path, `must be one of ${INSTANCE_STATUSES.join(', ')}`, value)
  }
  return value as InstanceStatus
}

export function checkInteger(path: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    fail(path, max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`, value)
  }
  return value
}
