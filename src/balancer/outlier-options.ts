/**
 * Outlier ejection's options: defaults and eager validation, shared by `discovery.outlier`
 * and `outlierEjection(child, options)`; `path` names the option in messages.
 */
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from '../internal/describe.js'

export interface OutlierOptions {
  /** Consecutive failures (connect errors or 5xx answers) that eject an instance. Default 5. */
  consecutiveFailures?: number
  /** First ejection lasts this long; the n-th lasts n times as long. Default 30,000 ms. */
  baseEjectionMs?: number
  /** Cap of one ejection. Default 300,000 ms. */
  maxEjectionMs?: number
  /** At most this share of a service's instances is ejected at once (at least one, never all). Default 10. */
  maxEjectionPercent?: number
}

export interface ResolvedOutlierOptions {
  readonly consecutiveFailures: number
  readonly baseEjectionMs: number
  readonly maxEjectionMs: number
  readonly maxEjectionPercent: number
}

export const OUTLIER_DEFAULTS: ResolvedOutlierOptions = Object.freeze({
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
})

const OUTLIER_KEYS: readonly string[] = ['consecutiveFailures', 'baseEjectionMs', 'maxEjectionMs', 'maxEjectionPercent']

function fail(message: string): never {
  throw new InvalidArgumentError(message)
}

function integer(path: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`
    fail(`${path} must be an integer ${range}, got ${describeValue(value)}`)
  }
  return value
}

/** Throws InvalidArgumentError naming `${path}.<option>` and the value. */
export function resolveOutlierOptions(path: string, raw: OutlierOptions | undefined): ResolvedOutlierOptions {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) fail(`${path} must be an object, got ${describeValue(raw)}`)
  const o = raw ?? {}
  // A misspelt option would otherwise be ignored in silence, and its default used instead.
  for (const key of Object.keys(o)) if (!OUTLIER_KEYS.includes(key)) fail(`${path}.${key} is not an option (known: ${OUTLIER_KEYS.join(', ')})`)
  const d = OUTLIER_DEFAULTS
  const baseEjectionMs = integer(`${path}.baseEjectionMs`, o.baseEjectionMs, d.baseEjectionMs, 1)
  const maxEjectionMs = integer(`${path}.maxEjectionMs`, o.maxEjectionMs, Math.max(d.maxEjectionMs, baseEjectionMs), 1)
  if (maxEjectionMs < baseEjectionMs) fail(`${path}.maxEjectionMs (${maxEjectionMs}) must not be below ${path}.baseEjectionMs (${baseEjectionMs})`)
  return Object.freeze({
    consecutiveFailures: integer(`${path}.consecutiveFailures`, o.consecutiveFailures, d.consecutiveFailures, 1),
    baseEjectionMs,
    maxEjectionMs,
    maxEjectionPercent: integer(`${path}.maxEjectionPercent`, o.maxEjectionPercent, d.maxEjectionPercent, 0, 100),
  })
}
