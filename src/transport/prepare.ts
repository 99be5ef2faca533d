/**
 * Builds what every attempt of one call sends: the path with its query, the headers (the
 * transport's, the call's, the authorization) and the JSON body, encoded once per call.
 */
import { InvalidArgumentError, isGovernanceError, toGovernanceError } from '../errors.js'
import { describeValue } from '../internal/describe.js'
import { failOption } from '../internal/options-kit.js'
import { checkHeaderValue, type ResolvedTransportOptions } from './options.js'
import type { HttpMethod, RequestOptions } from './types.js'

export interface PreparedRequest {
  readonly method: HttpMethod
  /** Path plus query string, relative to a server's base URL. */
  readonly pathAndQuery: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

export function encodeQuery(query: RequestOptions['query']): string {
  if (query === undefined) return ''
  let out = ''
  for (const key of Object.keys(query)) {
    const value = query[key]
    if (value === undefined) continue
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      failOption(`query.${key}`, 'must be a string, number or boolean', value)
    }
    out += `${out === '' ? '?' : '&'}${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
  }
  return out
}

function encodeBody(body: unknown): string {
  let text: string | undefined
  try {
    text = JSON.stringify(body)
  } catch (cause) {
    throw new InvalidArgumentError(`request body is not JSON-serialisable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
  if (text === undefined) throw new InvalidArgumentError(`request body is not JSON-serialisable: ${describeValue(body)}`)
  return text
}

function callAuthorization(fn: () => string | undefined): string | undefined {
  let value: string | undefined
  try {
    value = fn()
  } catch (error) {
    throw isGovernanceError(error) ? error : toGovernanceError(error, 'the authorization callback failed')
  }
  return value === undefined ? undefined : checkHeaderValue('the value returned by authorization()', value)
}

export function prepareRequest(
  options: ResolvedTransportOptions,
  call: Pick<RequestOptions, 'method' | 'path' | 'query' | 'body' | 'rawBody' | 'headers'>,
): PreparedRequest {
  if (call.body !== undefined && call.rawBody !== undefined) throw new InvalidArgumentError('give a request either body or rawBody, not both')
  const body = call.rawBody !== undefined ? call.rawBody.data : call.body === undefined ? undefined : encodeBody(call.body)
  let headers = options.headers
  // The common call (no extra headers, no callback, no body) shares the precomputed object.
  if (call.headers !== undefined || body !== undefined || options.authorization !== undefined) {
    const merged: Record<string, string> = { ...options.headers }
    if (call.headers !== undefined) {
      for (const [k, v] of Object.entries(call.headers)) merged[k.toLowerCase()] = checkHeaderValue(`headers[${JSON.stringify(k)}]`, v)
    }
    if (body !== undefined) merged['content-type'] = call.rawBody?.contentType ?? 'application/json'
    if (options.authorization !== undefined) {
      const auth = callAuthorization(options.authorization)
      if (auth !== undefined) merged.authorization = auth
    }
    headers = merged
  }
  return { method: call.method, pathAndQuery: call.path + encodeQuery(call.query), headers, body }
}
