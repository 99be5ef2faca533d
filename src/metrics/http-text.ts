/**
 * A minimal HTTP client for sinks that speak text, not JSON (the Pushgateway). The
 * transport only sends JSON bodies, so this posts with node:http itself and maps the
 * outcome onto the same error classes: 429/502/503/504 and connection failures are
 * ServerUnavailableError (with `details.retryAfterMs` from Retry-After), other 5xx
 * ServerError, 401/403 AuthError, other 4xx RequestRejectedError.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import {
  AuthError,
  GovernanceError,
  RequestRejectedError,
  ServerError,
  ServerUnavailableError,
  TimeoutError,
} from '../errors.js'
import type { TlsOptions } from '../transport/types.js'

const MAX_ERROR_BODY = 4_096

export interface TextRequest {
  readonly url: URL
  readonly method: 'PUT' | 'POST' | 'DELETE' | 'GET'
  readonly body?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

export interface TextResponse {
  readonly status: number
  readonly body: string
}

export interface TextClient {
  send(request: TextRequest): Promise<TextResponse>
  close(): void
}

/** One keep-alive agent per client, so pushes every few seconds reuse the connection. */
export function createTextClient(tls?: TlsOptions): TextClient {
  const http = new HttpAgent({ keepAlive: true, maxSockets: 2 })
  const https = new HttpsAgent({ keepAlive: true, maxSockets: 2, ...tlsOptions(tls) })
  return {
    send: (request) => send(request, request.url.protocol === 'https:' ? https : http),
    close: () => {
      http.destroy()
      https.destroy()
    },
  }
}

function tlsOptions(tls: TlsOptions | undefined): Record<string, unknown> {
  if (tls === undefined) return {}
  const ca = tls.ca === undefined ? undefined : Array.isArray(tls.ca) ? [...tls.ca] : tls.ca
  return { ca, cert: tls.cert, key: tls.key, servername: tls.servername }
}

function send(request: TextRequest, agent: HttpAgent | HttpsAgent): Promise<TextResponse> {
  const { url, signal } = request
  if (signal?.aborted) return Promise.reject(abortReason(signal))
  return new Promise((resolve, reject) => {
    const doRequest = url.protocol === 'https:' ? httpsRequest : httpRequest
    const body = request.body === undefined ? undefined : Buffer.from(request.body, 'utf8')
    const headers: Record<string, string | number> = { ...request.headers }
    if (body !== undefined) headers['content-length'] = body.length
    const req = doRequest(url, { method: request.method, headers, agent, timeout: request.timeoutMs })
    const onAbort = (): void => {
      req.destroy()
      reject(abortReason(signal as AbortSignal))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    const done = (): void => signal?.removeEventListener('abort', onAbort)
    req.on('timeout', () => {
      req.destroy(new TimeoutError(`${request.method} ${url.origin}${url.pathname} did not answer within ${request.timeoutMs} ms`))
    })
    req.on('error', (error) => {
      done()
      reject(error instanceof GovernanceError ? error : new ServerUnavailableError(`${request.method} ${url.origin} failed: ${error.message}`, { cause: error }))
    })
    req.on('response', (res) => {
      readBody(res).then(
        (text) => {
          done()
          const failure = statusError(request, res, text)
          if (failure === undefined) resolve({ status: res.statusCode ?? 0, body: text })
          else reject(failure)
        },
        (error: unknown) => {
          done()
          reject(new ServerUnavailableError(`${request.method} ${url.origin}: answer cut short`, { cause: error }))
        },
      )
    })
    req.end(body)
  })
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason
}

async function readBody(res: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of res) {
    if (text.length < MAX_ERROR_BODY * 16) text += (chunk as Buffer).toString('utf8')
  }
  return text
}

function statusError(request: TextRequest, res: IncomingMessage, body: string): GovernanceError | undefined {
  const status = res.statusCode ?? 0
  if (status >= 200 && status < 300) return undefined
  const where = `${request.method} ${request.url.origin}${request.url.pathname}`
  const message = `${where} answered ${status}${body.trim() === '' ? '' : `: ${body.trim().slice(0, MAX_ERROR_BODY)}`}`
  if (status === 429 || status === 502 || status === 503 || status === 504) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'])
    return new ServerUnavailableError(message, { status, details: retryAfterMs === undefined ? { url: where } : { url: where, retryAfterMs } })
  }
  if (status >= 500) return new ServerError(message, { status, details: { url: where } })
  if (status === 401 || status === 403) return new AuthError(message, { status, details: { url: where } })
  return new RequestRejectedError(message, { status, details: { url: where } })
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
