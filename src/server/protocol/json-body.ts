/**
 * Request bodies, whatever carried them: the size cap's answer, the JSON content type, and
 * parsing (UTF-8 only, no number that overflows to Infinity).
 */
import { HttpError, badRequest } from '../http-error.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The 413 of a body over the cap; the connection is closed, as the rest of the body goes unread. */
export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', `request body is over the ${maxBytes}-byte limit`, { close: true, extra: { limit: 'maxBodyBytes' } })
}

/** 415 for any content type other than JSON; a missing one is accepted (protocol section 1). */
export function checkContentType(header: string | undefined): void {
  if (header === undefined) return
  const [type = '', ...params] = header.split(';').map((part) => part.trim().toLowerCase())
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '')
  if (type !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new HttpError(415, 'unsupported_media_type', `content type must be application/json, not ${JSON.stringify(header.slice(0, 100))}`, {
      close: true,
    })
  }
}

/** Parses a body as JSON; `undefined` for an empty body. */
export function parseJson(buffer: Buffer): unknown {
  if (buffer.length === 0) return undefined
  let text: string
  try {
    text = utf8.decode(buffer)
  } catch {
    throw badRequest('the request body is not valid UTF-8')
  }
  let value: unknown
  try {
    value = JSON.parse(text) as unknown
  } catch (error) {
    throw badRequest(`the request body is not valid JSON: ${(error as Error).message.slice(0, 200)}`)
  }
  // Only a number with a long exponent or 309+ digits can overflow to Infinity, so only
  // such bodies pay for the walk.
  if (MAY_OVERFLOW.test(text) && hasNonFiniteOrTooDeep(value)) throw badRequest('the request body has a number too large to represent (JSON has no Infinity), or nests too deeply')
  return value
}

const MAY_OVERFLOW = /[eE][+]?0*[0-9]{3}|[0-9]{309}/

function hasNonFiniteOrTooDeep(value: unknown): boolean {
  try {
    return hasNonFinite(value)
  } catch {
    return true // RangeError: deeper than the stack, and no value that deep is stored anyway
  }
}

function hasNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value)
  if (typeof value !== 'object' || value === null) return false
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (hasNonFinite(item)) return true
  return false
}
