/**
 * Field checks for the registration options, following docs/protocol.md section 3.
 * Each check throws an InvalidArgumentError whose message names the option path and the
 * bad value, so a typo fails at construction instead of as a 400 inside a background loop.
 */
import { INSTANCE_STATUSES, type InstanceStatus } from '../types.js'
import { INSTANCE_ID_PATTERN, SERVICE_NAME_PATTERN } from '../internal/names.js'
import { count, failOption as fail, isPlainObject } from '../internal/options-kit.js'

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
  return count(path, value, { min: 1, max: 65_535, required: true })
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
  return count(path, value, { min: 0, max: MAX_WEIGHT, required: true })
}

export function checkStatus(path: string, value: unknown): InstanceStatus {
  if (typeof value !== 'string' || !(INSTANCE_STATUSES as readonly string[]).includes(value)) {
    fail(path, `must be one of ${INSTANCE_STATUSES.join(', ')}`, value)
  }
  return value as InstanceStatus
}
