/** Argument checks for the config calls: a bad key or value fails before any network call. */
import { InvalidArgumentError } from '../errors.js'
import { isRevision } from '../types.js'
import { isSchema, type Schema } from './schema.js'
import { CONFIG_KEY_PATTERN as CONFIG_KEY } from '../internal/names.js'
import { describeValue } from '../internal/describe.js'

/** docs/protocol.md section 3: one path segment, so it is safe in URLs and file names. */

/** docs/protocol.md section 6: the stored JSON text of a value. */
export const MAX_VALUE_BYTES = 512 * 1024

export const show = describeValue

export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || !CONFIG_KEY.test(key)) {
    throw new InvalidArgumentError(
      `config key ${show(key)} is invalid: it must match ${CONFIG_KEY.source} (letters, digits, '.', '_', ':', '-'; at most 256 characters)`,
      { details: { key } },
    )
  }
  return key
}

export function checkIfVersion(ifVersion: unknown): string | undefined {
  if (ifVersion === undefined) return undefined
  if (!isRevision(ifVersion)) {
    throw new InvalidArgumentError(`ifVersion must be a decimal version string such as "12" ("0": must not exist), got ${show(ifVersion)}`)
  }
  return ifVersion
}

export function checkSchema<T>(schema: unknown): Schema<T> | undefined {
  if (schema === undefined) return undefined
  if (!isSchema(schema)) {
    throw new InvalidArgumentError(`schema must be a Standard Schema v1 validator or a parse function, got ${show(schema)}`)
  }
  return schema as Schema<T>
}

export function checkCallback(callback: unknown): void {
  if (typeof callback !== 'function') throw new InvalidArgumentError(`watch callback must be a function, got ${show(callback)}`)
}

export function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined
  if (!(signal instanceof AbortSignal)) throw new InvalidArgumentError(`signal must be an AbortSignal, got ${show(signal)}`)
  return signal
}

/** get()'s maxStalenessMs: a number of ms >= 0 (Infinity allowed); absent means no limit. */
export function checkMaxStaleness(value: unknown): number {
  if (value === undefined) return Number.POSITIVE_INFINITY
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new InvalidArgumentError(`config.get(): maxStalenessMs must be a number of ms >= 0, got ${show(value)}`)
  }
  return value
}

/** A value must survive JSON (the wire and the snapshot file) and fit the server's limit. */
export function checkValue(key: string, value: unknown): void {
  let text: string | undefined
  try {
    text = JSON.stringify(value, lossless(key))
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error
    throw new InvalidArgumentError(`config ${key}: value is not JSON-serialisable (${(error as Error).message})`, { cause: error })
  }
  if (text === undefined) throw new InvalidArgumentError(`config ${key}: value must be a JSON value (null included), got ${show(value)}`)
  const bytes = Buffer.byteLength(text)
  if (bytes > MAX_VALUE_BYTES) {
    throw new InvalidArgumentError(`config ${key}: value is ${bytes} bytes as JSON, over the ${MAX_VALUE_BYTES}-byte limit`)
  }
}

/**
 * A JSON.stringify replacer that refuses what JSON would change in silence: NaN and ±Infinity
 * (written as null) and Map or Set (written as {}). The value read back must be the value put.
 */
function lossless(key: string): (this: unknown, field: string, v: unknown) => unknown {
  return (field, v) => {
    const where = field === '' ? 'value' : `value field ${show(field)}`
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new InvalidArgumentError(`config ${key}: ${where} is ${v}, which JSON would store as null; use a finite number`)
    }
    if (v instanceof Map || v instanceof Set) {
      throw new InvalidArgumentError(`config ${key}: ${where} is a ${v instanceof Map ? 'Map' : 'Set'}, which JSON would store as {}; convert it to an object or array`)
    }
    return v
  }
}
