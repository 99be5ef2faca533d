/**
 * Outlier ejection's options: defaults and eager validation, shared by `discovery.outlier`
 * and `outlierEjection(child, options)`; `path` names the option in messages.
 */
import { count, durationMs, failOption, objectOption, positiveInt } from '../internal/options-kit.js'

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

/** Throws InvalidArgumentError naming `${path}.<option>` and the value. */
export function resolveOutlierOptions(path: string, raw: OutlierOptions | undefined): ResolvedOutlierOptions {
  const o = objectOption(path, raw, OUTLIER_KEYS)
  const d = OUTLIER_DEFAULTS
  const baseEjectionMs = durationMs(`${path}.baseEjectionMs`, o.baseEjectionMs, { default: d.baseEjectionMs })
  const maxEjectionMs = durationMs(`${path}.maxEjectionMs`, o.maxEjectionMs, { default: Math.max(d.maxEjectionMs, baseEjectionMs) })
  if (maxEjectionMs < baseEjectionMs) failOption(`${path}.maxEjectionMs`, `must not be below ${path}.baseEjectionMs (${baseEjectionMs})`, maxEjectionMs)
  return Object.freeze({
    consecutiveFailures: positiveInt(`${path}.consecutiveFailures`, o.consecutiveFailures, { default: d.consecutiveFailures }),
    baseEjectionMs,
    maxEjectionMs,
    maxEjectionPercent: count(`${path}.maxEjectionPercent`, o.maxEjectionPercent, { default: d.maxEjectionPercent, min: 0, max: 100 }),
  })
}
