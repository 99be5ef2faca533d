/** Assertions that fail a check with a message naming the call, what was expected and what came. */
import { isDeepStrictEqual } from 'node:util'
import type { Reply } from './http.js'

export class CheckFailed extends Error {
  override readonly name = 'CheckFailed'
}

/** Thrown by a check that does not apply to this server (an optional feature it does not offer). */
export class CheckSkipped extends Error {
  override readonly name = 'CheckSkipped'
}

export function fail(message: string): never {
  throw new CheckFailed(message)
}

const show = (value: unknown): string => {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  return text.length > 300 ? `${text.slice(0, 297)}...` : text
}

const callOf = (reply: Reply): string => `${reply.method} ${reply.path.length > 80 ? `${reply.path.slice(0, 77)}...` : reply.path}`

export function expectTrue(condition: boolean, message: string): void {
  if (!condition) fail(message)
}

export function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

export function expectStatus(reply: Reply, status: number): void {
  if (reply.status !== status) fail(`${callOf(reply)}: expected status ${status}, got ${reply.status} ${show(reply.text)}`)
}

/** The body as an object, with JSON content type. */
export function bodyOf(reply: Reply): Record<string, unknown> {
  const type = String(reply.headers['content-type'] ?? '')
  if (!/^application\/json/i.test(type)) fail(`${callOf(reply)}: content-type is ${show(type)}, not application/json`)
  if (typeof reply.json !== 'object' || reply.json === null || Array.isArray(reply.json)) {
    fail(`${callOf(reply)}: body is not a JSON object: ${show(reply.text)}`)
  }
  return reply.json as Record<string, unknown>
}

/** Status, then the body as an object. */
export function expectJson(reply: Reply, status: number): Record<string, unknown> {
  expectStatus(reply, status)
  return bodyOf(reply)
}

/** A decimal index string >= 1. */
export function expectIndex(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^[1-9][0-9]*$/.test(value)) fail(`${what} must be a decimal string >= 1, got ${show(value)}`)
  return BigInt(value)
}

/** `index` in the body, equal to the X-Governance-Index header; returns it. */
export function expectIndexed(reply: Reply, body: Record<string, unknown>): bigint {
  const index = expectIndex(body['index'], `${callOf(reply)}: body index`)
  const header = reply.headers['x-governance-index']
  if (header !== body['index']) fail(`${callOf(reply)}: X-Governance-Index is ${show(header)}, body index is ${show(body['index'])}`)
  return index
}

/** The error shape of protocol section 2 with this status and code; returns the error object. */
export function expectError(reply: Reply, status: number, code: string): Record<string, unknown> {
  const body = expectJson(reply, status)
  const error = body['error']
  if (typeof error !== 'object' || error === null) fail(`${callOf(reply)}: no "error" object in ${show(reply.text)}`)
  const e = error as Record<string, unknown>
  if (e['code'] !== code) fail(`${callOf(reply)}: error.code is ${show(e['code'])}, expected ${show(code)}`)
  if (typeof e['message'] !== 'string') fail(`${callOf(reply)}: error.message is not a string`)
  return e
}

export function expectBetween(value: number, min: number, max: number, what: string): void {
  if (!(value >= min && value <= max)) fail(`${what}: expected ${min}-${max}, got ${Math.round(value)}`)
}
