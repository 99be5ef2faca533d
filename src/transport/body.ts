/**
 * Decoding answers as JSON, and reading the message of an error answer from a stream.
 * (Buffered answers and their size cap: buffered.ts.)
 */
import type { Dispatcher } from 'undici'
import { ProtocolError } from '../errors.js'
import { sanitizeExcerpt, type CallTarget } from './error-map.js'

export type ResponseBody = Dispatcher.ResponseData['body']

/** Bytes read from an error answer, enough for the server's message. */
export const ERROR_BODY_BYTES = 16 * 1024

const utf8 = new TextDecoder('utf-8', { fatal: true })

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

/** A success body as text (`text: true` calls): anything but UTF-8 → ProtocolError. */
export function decodeText(bytes: Uint8Array, target: CallTarget, status: number): string {
  try {
    return utf8.decode(bytes)
  } catch (cause) {
    throw new ProtocolError(`${target.method} ${target.url} answered ${status} with a body that is not UTF-8 text`, { cause, status, details: { url: target.url, method: target.method } })
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
