/**
 * One request whose answer is collected into memory, through undici's dispatch API rather
 * than `request()`: no Readable stream per response and no AbortSignal listener per call,
 * which together cost more than everything else the transport does (see bench/suites/
 * transport.ts). The body cap is enforced as chunks arrive: past it the request is aborted,
 * which destroys the socket, so memory stays bounded whatever the server sends.
 */
import type { Dispatcher } from 'undici'
import { ResponseTooLargeError } from '../errors.js'
import { ERROR_BODY_BYTES } from './body.js'
import type { CallScope } from './call-scope.js'
import type { CallTarget } from './error-map.js'


export interface BufferedAnswer {
  readonly statusCode: number
  readonly headers: Dispatcher.ResponseData['headers']
  /** The body; for a status that is not wanted, at most ERROR_BODY_BYTES of it. */
  readonly bytes: Buffer
}

export interface BufferedRequest {
  readonly origin: string
  readonly path: string
  readonly method: Dispatcher.HttpMethod
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
  /** Cap on a wanted answer's body. */
  readonly limit: number
  /** Statuses whose body is wanted whole (2xx always are); others are read for their message. */
  readonly wanted: (status: number) => boolean
  readonly target: CallTarget
}

function tooLarge(target: CallTarget, limit: number, size: number | undefined, status: number): ResponseTooLargeError {
  const got = size === undefined ? 'more than that' : `${size} bytes`
  return new ResponseTooLargeError(`${target.method} ${target.url}: the answer exceeds the ${limit}-byte cap (${got})`, {
    status,
    details: { url: target.url, method: target.method, maxResponseBytes: limit, contentLength: size },
  })
}

function contentLength(headers: Dispatcher.ResponseData['headers']): number | undefined {
  const raw = headers['content-length']
  return typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : undefined
}

/** Collects the answer; rejects with undici's own error (mapped by the caller) or the scope's reason. */
export function dispatchBuffered(pool: Dispatcher, request: BufferedRequest, scope: CallScope): Promise<BufferedAnswer> {
  if (scope.aborted) return Promise.reject(scope.reason)
  return new Promise<BufferedAnswer>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined
    let settled = false
    let statusCode = 0
    let headers: Dispatcher.ResponseData['headers'] = {}
    let cap = request.limit
    let truncate = false
    const chunks: Buffer[] = []
    let size = 0

    const settle = (error: unknown, answer?: BufferedAnswer): void => {
      if (settled) return
      settled = true
      scope.onAbort(undefined)
      if (answer !== undefined) resolve(answer)
      else reject(error)
    }
    const finish = (): void => settle(undefined, { statusCode, headers, bytes: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) })
    const stop = (error: Error): void => {
      controller?.abort(error)
      settle(error)
    }
    // The call ends now even when undici has not started the request yet (still queued or
    // connecting): the request is aborted as soon as undici hands over its controller.
    scope.onAbort((reason) => {
      controller?.abort(reason instanceof Error ? reason : new Error(String(reason)))
      settle(reason)
    })

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c
        if (settled) c.abort(scope.aborted && scope.reason instanceof Error ? scope.reason : new Error('request cancelled'))
      },
      onResponseStart(c, status, responseHeaders) {
        statusCode = status
        headers = responseHeaders
        if (!request.wanted(status)) {
          cap = ERROR_BODY_BYTES
          truncate = true
          return
        }
        const declared = contentLength(responseHeaders)
        if (declared !== undefined && declared > cap) stop(tooLarge(request.target, cap, declared, status))
      },
      onResponseData(c, chunk) {
        if (settled) return
        size += chunk.length
        if (size <= cap) return void chunks.push(chunk)
        if (!truncate) return stop(tooLarge(request.target, cap, undefined, statusCode))
        chunks.push(chunk.subarray(0, chunk.length - (size - cap)))
        size = cap
        // Enough of an error page; the rest is dropped with the connection.
        finish()
        c.abort(new Error('error answer truncated'))
      },
      onResponseEnd() {
        finish()
      },
      onResponseError(_c, error) {
        settle(error)
      },
    }

    try {
      pool.dispatch(
        { origin: request.origin, path: request.path, method: request.method, headers: request.headers, body: request.body ?? null },
        handler,
      )
    } catch (error) {
      settle(error)
    }
  })
}
