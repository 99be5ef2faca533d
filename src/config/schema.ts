/**
 * What `schema` may be: a Standard Schema v1 validator or a plain parse function. Both are
 * run through one function that stays synchronous when the validator is, so that the
 * common case (zod, a hand-written parse) adds no microtask hop to a delivery.
 */
import { ValidationError } from '../errors.js'
import { describeValue } from '../internal/describe.js'
import type { StandardSchemaV1 } from './standard-schema.js'

/** Turns the raw JSON value into T, throwing when it is not acceptable. */
export type ParseFn<T> = (raw: unknown) => T

/** A Standard Schema v1 validator (zod, valibot, arktype…) or a parse function. */
export type Schema<T> = StandardSchemaV1<unknown, T> | ParseFn<T>

export interface Issue {
  readonly message: string
  readonly path?: readonly PropertyKey[]
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly Issue[] }

export function isSchema(value: unknown): value is Schema<unknown> {
  return typeof value === 'function' || isStandardSchema(value)
}

function isStandardSchema(value: unknown): value is StandardSchemaV1<unknown, unknown> {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false
  const props = (value as { '~standard'?: { validate?: unknown } })['~standard']
  return typeof props === 'object' && props !== null && typeof props.validate === 'function'
}

/**
 * Validates `raw`. Standard Schema is checked first: arktype's types are callable and
 * implement it, and their call form returns errors instead of throwing.
 */
export function runSchema<T>(schema: Schema<T>, raw: unknown): Outcome<T> | Promise<Outcome<T>> {
  if (isStandardSchema(schema)) {
    let result: StandardSchemaV1.Result<T> | Promise<StandardSchemaV1.Result<T>>
    try {
      result = schema['~standard'].validate(raw)
    } catch (error) {
      return { ok: false, issues: issuesFromThrown(error) }
    }
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then(fromResult, (error: unknown) => ({ ok: false, issues: issuesFromThrown(error) }))
    }
    return fromResult(result)
  }
  try {
    return { ok: true, value: (schema as ParseFn<T>)(raw) }
  } catch (error) {
    return { ok: false, issues: issuesFromThrown(error) }
  }
}

function fromResult<T>(result: StandardSchemaV1.Result<T>): Outcome<T> {
  // A validator outside the spec (no result object, issues that are not an array) is
  // reported as a failed validation, never passed on as a TypeError or as a value.
  if (typeof result !== 'object' || result === null) {
    return { ok: false, issues: [{ message: `the schema's validate() answered ${describeValue(result)}, not a Standard Schema result` }] }
  }
  if (result.issues !== undefined) {
    if (!Array.isArray(result.issues)) return { ok: false, issues: [{ message: `the schema answered issues that are not an array: ${describeValue(result.issues)}` }] }
    return { ok: false, issues: normaliseIssues(result.issues) }
  }
  if (!('value' in result)) return { ok: false, issues: [{ message: "the schema's validate() answered neither issues nor a value" }] }
  return { ok: true, value: result.value }
}

function normaliseIssues(issues: readonly StandardSchemaV1.Issue[]): Issue[] {
  if (issues.length === 0) return [{ message: 'rejected by the schema' }]
  return issues.map((issue) => {
    if (typeof issue !== 'object' || issue === null) return { message: `rejected by the schema (${describeValue(issue)})` }
    const message = typeof issue.message === 'string' ? issue.message : describeValue(issue.message)
    if (!Array.isArray(issue.path)) return { message }
    const path = issue.path.map((seg) => (typeof seg === 'object' && seg !== null ? seg.key : seg))
    return { message, path }
  })
}

/** A parse function may throw a ValidationError, something with `issues` (ZodError), or anything. */
function issuesFromThrown(error: unknown): Issue[] {
  if (error instanceof ValidationError) return [...error.issues]
  const issues = (error as { issues?: unknown } | null)?.issues
  if (Array.isArray(issues) && issues.every((i) => typeof (i as { message?: unknown })?.message === 'string')) {
    return normaliseIssues(issues as StandardSchemaV1.Issue[])
  }
  const message = error instanceof Error ? error.message : `parse function threw ${describeValue(error)}`
  return [{ message: message || 'parse function threw' }]
}

export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

/** The error that config:rejected carries and that get() throws. */
export function validationError(key: string, version: string | undefined, issues: readonly Issue[]): ValidationError {
  const first = issues[0]
  const where = first?.path && first.path.length > 0 ? ` at ${first.path.map(String).join('.')}` : ''
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length > 2 ? 's' : ''})` : ''
  const at = version === undefined ? '' : ` version ${version}`
  return new ValidationError(`config ${key}${at} failed validation${where}: ${first?.message ?? 'rejected'}${more}`, issues, {
    details: { key, version },
  })
}
