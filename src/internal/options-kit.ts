/**
 * The options kit: one reader per kind of option, so that every factory checks the same
 * kind the same way and says so in the same words.
 *
 * - Every message has one shape: `<path> must be <rule>, got <value>`, where `path` is the
 *   option's full path (`etcd.watchBackoff.maxDelayMs`, `discovery.cacheSize`, or a bare
 *   `requestTimeoutMs` for the client's own) and the value is rendered by describeValue().
 *   `details.option` carries the path. Secrets are never echoed, only their kind.
 * - Unknown keys are refused everywhere (objectOption): a misspelt `watchBackof` would
 *   otherwise leave its default in force in silence.
 * - Durations are whole milliseconds: a fractional one is an error (timers round it anyway,
 *   and a value such as 0.5 is nearly always a unit mistake). `Infinity` is accepted only
 *   where an option documents "never" (`infinite: true`).
 * - `undefined` means "the default"; `null` is a mistake and reported like any other value.
 */
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from './describe.js'

/** Joins an option path: `('etcd', 'breaker')` → `etcd.breaker`; `('', 'ttlMs')` → `ttlMs`. */
export function optionPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`
}

/** Throws the kit's one message: `<path> <rule>, got <value>`. */
export function failOption(path: string, rule: string, value: unknown): never {
  throw new InvalidArgumentError(`${path} ${rule}, got ${describeValue(value)}`, { details: { option: path } })
}

/** The same, for a secret (token, password): the message shows what kind of value came, never the value. */
export function failSecret(path: string, rule: string, value: unknown): never {
  const kind = typeof value === 'string' ? (value === '' ? '""' : 'a string (hidden)') : value === null ? 'null' : value === undefined ? 'undefined' : `a ${typeof value}`
  throw new InvalidArgumentError(`${path} ${rule}, got ${kind}`, { details: { option: path } })
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/**
 * An options object whose own keys are all in `known`. `undefined` reads as `{}` (every
 * field its default) unless `required`.
 */
export function objectOption(path: string, value: unknown, known: readonly string[], spec: { required?: boolean } = {}): Record<string, unknown> {
  if (value === undefined && spec.required !== true) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) failOption(path, 'must be an object', value)
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) failOption(optionPath(path, key), `is not an option (known: ${known.join(', ')})`, (value as Record<string, unknown>)[key])
  }
  return value as Record<string, unknown>
}

interface RangeSpec {
  readonly min?: number
  readonly max?: number
}

/** "must be a positive integer (ms)", "must be an integer from 0 to 65535", … */
function rangeRule(unit: string, min: number, max: number | undefined): string {
  if (max !== undefined) return `must be an integer${unit} from ${min} to ${max}`
  if (min === 1) return `must be a positive integer${unit}`
  if (min === 0) return `must be a non-negative integer${unit}`
  return `must be an integer${unit} >= ${min}`
}

function readInteger(path: string, value: unknown, unit: string, min: number, max: number | undefined, infinite: boolean): number {
  if (infinite && value === Infinity) return value
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
    failOption(path, rangeRule(unit, min, max) + (infinite ? ', or Infinity (never)' : ''), value)
  }
  return value
}

/** What a reader does with `undefined`: return the default, refuse it (`required`), or pass it on. */
type Presence = { readonly default: number; readonly required?: never } | { readonly required: true; readonly default?: never }
type Optional = { readonly default?: undefined; readonly required?: false }

/** A duration in whole milliseconds; min defaults to 1. */
export function durationMs(path: string, value: unknown, spec: RangeSpec & Presence & { infinite?: boolean }): number
export function durationMs(path: string, value: unknown, spec: RangeSpec & Optional & { infinite?: boolean }): number | undefined
export function durationMs(path: string, value: unknown, spec: RangeSpec & { default?: number; required?: boolean; infinite?: boolean }): number | undefined {
  if (value === undefined && spec.required !== true) return spec.default
  return readInteger(path, value, ' (ms)', spec.min ?? 1, spec.max, spec.infinite === true)
}

/** A whole number (a count, a size, a port); min defaults to 0. */
export function count(path: string, value: unknown, spec: RangeSpec & Presence): number
export function count(path: string, value: unknown, spec: RangeSpec & Optional): number | undefined
export function count(path: string, value: unknown, spec: RangeSpec & { default?: number; required?: boolean }): number | undefined {
  if (value === undefined && spec.required !== true) return spec.default
  return readInteger(path, value, '', spec.min ?? 0, spec.max, false)
}

/** A whole number of at least 1. */
export function positiveInt(path: string, value: unknown, spec: { default: number; max?: number }): number {
  return count(path, value, { min: 1, ...spec })
}

/** A finite number in a range (a weight, a factor); for whole numbers use count(). */
export function finiteNumber(path: string, value: unknown, spec: RangeSpec & { default: number }): number {
  if (value === undefined) return spec.default
  const min = spec.min ?? -Number.MAX_VALUE
  const max = spec.max ?? Number.MAX_VALUE
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    failOption(path, spec.min === undefined && spec.max === undefined ? 'must be a finite number' : `must be a number from ${min} to ${max}`, value)
  }
  return value
}

/**
 * A number above 0, fractions allowed: per-call deadlines and sizes that callers compute
 * (what is left of a deadline), not options a user writes.
 */
export function positiveNumber(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) failOption(path, 'must be a positive finite number', value)
  return value
}

/** A share from 0 to 1. */
export function ratio(path: string, value: unknown, spec: { default: number }): number {
  return finiteNumber(path, value, { min: 0, max: 1, ...spec })
}

export function bool(path: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') failOption(path, 'must be true or false', value)
  return value
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** A non-empty string without control characters; `pattern` (described by `rule`) narrows it. */
export function string(path: string, value: unknown, spec: { default: string; pattern?: RegExp; rule?: string }): string
export function string(path: string, value: unknown, spec?: { default?: undefined; pattern?: RegExp; rule?: string }): string | undefined
export function string(path: string, value: unknown, spec: { default?: string; pattern?: RegExp; rule?: string } = {}): string | undefined {
  if (value === undefined) return spec.default
  if (typeof value !== 'string' || value === '' || CONTROL.test(value) || (spec.pattern !== undefined && !spec.pattern.test(value))) {
    failOption(path, spec.rule ?? 'must be a non-empty string without control characters', value)
  }
  return value
}

/** A token or password: a string matching `pattern`; the message never shows it. */
export function secret(path: string, value: unknown, spec: { pattern: RegExp; rule: string }): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !spec.pattern.test(value)) failSecret(path, spec.rule, value)
  return value
}

export function oneOf<T extends string>(path: string, value: unknown, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    failOption(path, `must be one of ${choices.map((c) => `'${c}'`).join(', ')}`, value)
  }
  return value as T
}

export function func<T extends (...args: never[]) => unknown>(path: string, value: unknown): T | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') failOption(path, 'must be a function', value)
  return value as T
}

/** A non-empty array (or, with `single`, one item alone), each item read at `path[i]`. */
export function list<T>(path: string, value: unknown, read: (itemPath: string, item: unknown) => T, spec: { single?: boolean } = {}): T[] {
  if (spec.single === true && !Array.isArray(value)) return [read(path, value)]
  if (!Array.isArray(value) || value.length === 0) failOption(path, spec.single === true ? 'must be one item or a non-empty array' : 'must be a non-empty array', value)
  return value.map((item: unknown, i) => read(`${path}[${i}]`, item))
}

/**
 * An http(s) URL without a query or fragment, nor credentials unless `credentials`: they
 * would end up in logs and error messages (tokens have options of their own).
 */
export function httpUrl(path: string, value: unknown, spec: { credentials?: boolean } = {}): URL {
  if (typeof value !== 'string' || value === '') failOption(path, 'must be an http or https URL', value)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    failOption(path, 'must be a valid URL', value)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') failOption(path, 'must be an http or https URL', value)
  // WHATWG URLs take any length of host; DNS does not (RFC 1035), and no connect could succeed.
  if (url.hostname.length > 253) failOption(path, 'must have a host name of at most 253 characters', value)
  if (spec.credentials !== true && (url.username !== '' || url.password !== '')) failOption(path, 'must not carry credentials (use the token or auth option)', url.origin)
  if (url.search !== '' || url.hash !== '') failOption(path, 'must not have a query or fragment', value)
  return url
}

export interface DelayRange {
  readonly minDelayMs: number
  readonly maxDelayMs: number
}

/**
 * `{ minDelayMs, maxDelayMs }` of a backoff; a ceiling not given is at least the floor
 * given, and a floor above a ceiling given is refused.
 */
export function delayRange(path: string, value: unknown, defaults: DelayRange, spec: { min?: number; extraKeys?: readonly string[] } = {}): DelayRange {
  const v = objectOption(path, value, ['minDelayMs', 'maxDelayMs', ...(spec.extraKeys ?? [])])
  const min = spec.min ?? 1
  const minDelayMs = durationMs(optionPath(path, 'minDelayMs'), v.minDelayMs, { default: defaults.minDelayMs, min })
  const maxDelayMs = durationMs(optionPath(path, 'maxDelayMs'), v.maxDelayMs, { default: Math.max(defaults.maxDelayMs, minDelayMs), min })
  if (minDelayMs > maxDelayMs) failOption(optionPath(path, 'minDelayMs'), `must not exceed ${optionPath(path, 'maxDelayMs')} (${maxDelayMs})`, minDelayMs)
  return { minDelayMs, maxDelayMs }
}
