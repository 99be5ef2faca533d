/** Reads request bodies: size-capped (Content-Length or while streaming), JSON only, UTF-8 only. */
import type { IncomingMessage } from 'node:http'
import { HttpError, badRequest } from './http-error.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** True when the request announces a body (a non-zero Content-Length or chunked encoding). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true
  const length = req.headers['content-length']
  return length !== undefined && length !== '0'
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', `request body is over the ${maxBytes}-byte limit`, { close: true, extra: { limit: 'maxBodyBytes' } })
}

/** 415 for any content type other than JSON; a missing one is accepted (protocol section 1). */
export function checkContentType(req: IncomingMessage): void {
  const header = req.headers['content-type']
  if (header === undefined) return
  const [type = '', ...params] = header.split(';').map((part) => part.trim().toLowerCase())
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '')
  if (type !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new HttpError(415, 'unsupported_media_type', `content type must be application/json, not ${JSON.stringify(header.slice(0, 100))}`, {
      close: true,
    })
  }
}

/** Collects the body, answering 413 as soon as it passes `maxBytes`. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const announced = Number(req.headers['content-length'] ?? 0)
  if (announced > maxBytes) return Promise.reject(tooLarge(maxBytes))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const cleanup = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('close', onClose)
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > maxBytes) {
        cleanup()
        req.pause()
        reject(tooLarge(maxBytes))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => {
      cleanup()
      resolve(Buffer.concat(chunks, size))
    }
    const onError = (): void => {
      cleanup()
      reject(badRequest('the request body could not be read'))
    }
    const onClose = (): void => {
      if (!req.complete) onError()
    }
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    req.on('close', onClose)
  })
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

/** Reads, checks and parses a JSON body; `undefined` when none was sent. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (!hasBody(req)) {
    req.resume()
    return undefined
  }
  checkContentType(req)
  return parseJson(await readBody(req, maxBytes))
}
