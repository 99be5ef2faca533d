/**
 * Prometheus naming rules (protocol v1, section 3). Checked once when an instrument or a
 * label set is created, never on the recording path for a label set already seen.
 */
import { InvalidArgumentError } from '../errors.js'
import { LABEL_NAME_PATTERN as LABEL_NAME, METRIC_NAME_PATTERN as METRIC_NAME } from '../internal/names.js'
import { describeValue } from '../internal/describe.js'


/** Label put on the one series that collects every label set over an instrument's cap. */
export const OVERFLOW_LABEL = 'governance_overflow'

/** Protocol v1 caps a help text at 1,024 characters. */
export const MAX_HELP_LENGTH = 1_024
/** Protocol v1 caps a histogram at 64 buckets. */
export const MAX_BUCKETS = 64

export function isMetricName(name: unknown): name is string {
  return typeof name === 'string' && METRIC_NAME.test(name)
}

/** A label name a user may set: Prometheus rules, not reserved (`__*`), not our overflow label. */
export function isUserLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith('__') && name !== OVERFLOW_LABEL
}

/** Why a label name is refused, or undefined when it is fine for this kind of instrument. */
export function labelNameProblem(name: string, histogram: boolean): string | undefined {
  if (!isUserLabelName(name)) return `label name ${JSON.stringify(name)} breaks the Prometheus rules (or is reserved)`
  if (histogram && name === 'le') return 'label name "le" is reserved for histogram buckets'
  return undefined
}

export function checkMetricName(name: unknown): string {
  if (!isMetricName(name)) {
    throw new InvalidArgumentError(`metric name ${describe(name)} must match ${METRIC_NAME.source}`, {
      details: { name: typeof name === 'string' ? name.slice(0, 128) : name },
    })
  }
  return name
}

/**
 * Validates histogram bucket bounds: finite, strictly ascending, 1..64 of them. `what`
 * names the option in the message (e.g. `metrics.defaultBuckets`).
 */
export function checkBuckets(what: string, buckets: unknown): readonly number[] {
  if (!Array.isArray(buckets) || buckets.length === 0 || buckets.length > MAX_BUCKETS) {
    throw new InvalidArgumentError(`${what} must be an array of 1 to ${MAX_BUCKETS} numbers, got ${describe(buckets)}`)
  }
  for (let i = 0; i < buckets.length; i++) {
    const b: unknown = buckets[i]
    if (typeof b !== 'number' || !Number.isFinite(b)) {
      throw new InvalidArgumentError(`${what}[${i}] must be a finite number, got ${describe(b)}`)
    }
    if (i > 0 && b <= (buckets[i - 1] as number)) {
      throw new InvalidArgumentError(`${what} must be strictly ascending, got ${describe(buckets)}`)
    }
  }
  return Object.freeze([...(buckets as number[])])
}

export function checkHelp(what: string, help: unknown): string | undefined {
  if (help === undefined) return undefined
  if (typeof help !== 'string' || help.length > MAX_HELP_LENGTH) {
    throw new InvalidArgumentError(`${what} must be a string of at most ${MAX_HELP_LENGTH} characters, got ${describe(help)}`)
  }
  return help
}

export const describe = describeValue
