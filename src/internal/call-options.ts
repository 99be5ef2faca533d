/**
 * The per-call options bag of a public method (`{ signal?, … }`), checked before any work:
 * a JavaScript caller's null, string or misspelt option is an InvalidArgumentError naming
 * it, not a TypeError from deep inside, and not an option ignored in silence.
 */
import { InvalidArgumentError } from '../errors.js'
import { describeValue } from './describe.js'

const NONE: Readonly<Record<string, unknown>> = Object.freeze({})

/**
 * Returns the options as a record (an empty one for undefined). `what` names the call in
 * messages ("register()"); `known` lists the option names the call takes.
 */
export function checkCallOptions(what: string, options: unknown, known: readonly string[]): Readonly<Record<string, unknown>> {
  if (options === undefined) return NONE
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidArgumentError(`${what}: options must be an object, got ${describeValue(options)}`)
  }
  // for-in, not Object.keys: no array per call on the paths that run often.
  for (const key in options) {
    if (!known.includes(key)) {
      throw new InvalidArgumentError(`${what}: options.${key} is not an option (known: ${known.join(', ')})`, { details: { option: key } })
    }
  }
  checkSignalOption(what, (options as { signal?: unknown }).signal)
  return options as Record<string, unknown>
}

/** undefined, or a real AbortSignal: anything else would fail later as a TypeError, or never abort. */
export function checkSignalOption(what: string, signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined
  if (!(signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`${what}: options.signal must be an AbortSignal, got ${describeValue(signal)}`)
  }
  return signal
}
