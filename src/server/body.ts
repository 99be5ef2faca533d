/** Reads node:http request bodies: size-capped (Content-Length or while streaming), JSON only, UTF-8 only. */
import type { IncomingMessage } from 'node:http'
import { badRequest } from './http-error.js'
import { checkContentType, parseJson, tooLarge } from './protocol/json-body.js'

/** True when the request announces a body (a non-zero Content-Length or chunked encoding). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true
  const length = req.headers['content-length']
  return length !== undefined && length !== '0'
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

/** Reads, checks and parses a JSON body; `undefined` when none was sent. */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (!hasBody(req)) {
    req.resume()
    return undefined
  }
  checkContentType(req.headers['content-type'])
  return parseJson(await readBody(req, maxBytes))
}
