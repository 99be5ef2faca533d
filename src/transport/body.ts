/**
 * Reading answers with a hard size cap and decoding them as JSON. Memory stays bounded by
 * the cap whatever the server sends: an oversized body is never buffered, its socket is
 * destroyed as soon as the cap is crossed.
 */
import type { Dispatcher } from 'undici'
import { ProtocolError, ResponseTooLargeError } from '../errors.js'
import { sanitizeExcerpt, type CallTarget } from './error-map.js'

export type ResponseBody = Dispatcher.ResponseData['body']

/** Bytes read from an error answer, enough for the server's message. */
export const ERROR_BODY_BYTES = 16 * 1024

const utf8 = new TextDecoder('utf-8', { fatal: true })

export function contentLengthOf(headers: Dispatcher.ResponseData['headers']): number | undefined {
  const raw = headers['content-length']
  if (typeof raw !== 'string' || !/^\d+$/.test(raw)) return undefined
  return Number(raw)
}

function tooLarge(target: CallTarget, limit: number, size: number | undefined, status: number): ResponseTooLargeError {
  const got = size === undefined ? 'more than that' : `${size} bytes`
  return new ResponseTooLargeError(`${target.method} ${target.url}: the answer exceeds the ${limit}-byte cap (${got})`, {
    status,
    details: { url: target.url, method: target.method, maxResponseBytes: limit, contentLength: size },
  })
}

/**
 * The whole body, at most `limit` bytes. A declared length is checked before reading; a
 * chunked body is counted as it arrives. Destroying the undici body aborts the request,
 * which destroys the socket (the connection cannot be reused mid-answer anyway).
 */
export async function readCapped(body: ResponseBody, length: number | undefined, limit: number, target: CallTarget, status: number): Promise<Uint8Array> {
  if (length !== undefined) {
    if (length > limit) {
      body.destroy()
      throw tooLarge(target, limit, length, status)
    }
    // The parser stops at Content-Length, so this cannot grow past it.
    return await body.bytes()
  }
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) {
      body.destroy()
      throw tooLarge(target, limit, undefined, status)
    }
    chunks.push(chunk)
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)
}

/** Up to `limit` bytes of an error answer as text; never throws (the status already says enough). */
export async function readErrorText(body: ResponseBody, limit: number = ERROR_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk)
      size += chunk.length
      if (size >= limit) break // leaving the loop destroys the rest of the body
    }
  } catch {
    // A reset mid-way through an error page: keep what arrived.
  }
  return Buffer.concat(chunks, size).subarray(0, limit).toString('utf8')
}

/** JSON.parse or undefined, for error bodies that may be anything. */
export function tryParseJson(text: string): unknown {
  try {
    return text.trim() === '' ? undefined : (JSON.parse(text) as unknown)
  } catch {
    return undefined
  }
}

/** Decodes a success body: empty → undefined; anything but UTF-8 JSON → ProtocolError with an excerpt. */
export function decodeJson(bytes: Uint8Array, target: CallTarget, status: number, contentType: string | undefined): unknown {
  if (bytes.length === 0) return undefined
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch (cause) {
    throw new ProtocolError(`${target.method} ${target.url} answered ${status} with a body that is not UTF-8 text`, {
      cause,
      status,
      details: { url: target.url, method: target.method, contentType },
    })
  }
  try {
    return JSON.parse(text) as unknown
  } catch (cause) {
    if (text.trim() === '') return undefined
    const type = contentType === undefined ? 'no content type' : `content type ${sanitizeExcerpt(contentType, 60)}`
    const excerpt = sanitizeExcerpt(text, 80)
    throw new ProtocolError(`${target.method} ${target.url} answered ${status} with a body that is not JSON (${type}): "${excerpt}"`, {
      cause,
      status,
      details: { url: target.url, method: target.method, contentType, excerpt },
    })
  }
}
