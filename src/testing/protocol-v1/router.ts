/**
 * A protocol v1 server (docs/protocol.md) as one fetch-API handler over a test registry, so
 * that the same state, faults and records serve msw handlers and a loopback HTTP server.
 * It is the reference server's protocol handler (the same routes, validation, blocking
 * rules and error answers) over the registry as its store, with no auth, and without the
 * reference server's additions (metrics query, history, overrides, OTLP, /metrics, the
 * multiplexed watch).
 */
import { HttpError } from '../../server/http-error.js'
import { INDEX_HEADER, JSON_CONTENT_TYPE, type Answer } from '../../server/protocol/answer.js'
import { createProtocolHandler } from '../../server/protocol/protocol-handler.js'
import { parseTarget } from '../../server/router.js'
import type { TestRegistry } from '../test-registry.js'
import { FetchRequest } from './fetch-request.js'
import { failureAnswer } from './failures.js'
import { registryProtocolStore } from './registry-store.js'

export type FetchHandler = (request: Request) => Promise<Response>

export interface ProtocolV1HandlerOptions {
  /** A path prefix in front of `/v1` (from the base URL the client is given). Default ''. */
  readonly basePath?: string
}

export function createProtocolV1Handler(registry: TestRegistry, options: ProtocolV1HandlerOptions = {}): FetchHandler {
  const basePath = (options.basePath ?? '').replace(/\/+$/, '')
  const protocol = createProtocolHandler({ store: registryProtocolStore(registry), translateError: failureAnswer })
  return async (request) => {
    // An unreachable registry does not answer at all, health included.
    if (registry.faults.unreachable) return Response.error()
    let answer: Answer
    try {
      const url = new URL(request.url)
      if (basePath !== '' && !url.pathname.startsWith(`${basePath}/`)) throw new HttpError(404, 'not_found', 'no such path')
      const { segments, search } = parseTarget(`${url.pathname.slice(basePath.length)}${url.search}`)
      answer = await protocol.handle(new FetchRequest(request, segments, search, registry.closeSignal))
    } catch (error) {
      answer = protocol.answerError(error)
    }
    return toResponse(answer, request.method)
  }
}

/** The Response the reference server would send: the same headers, no body for HEAD. */
function toResponse(answer: Answer, method: string): Response {
  if (answer.drop === true || answer.stream !== undefined) return Response.error()
  const headers: Record<string, string> = { 'content-type': answer.contentType ?? JSON_CONTENT_TYPE, 'cache-control': 'no-store' }
  if (answer.index !== undefined) headers[INDEX_HEADER] = answer.index
  Object.assign(headers, answer.headers)
  return new Response(method === 'HEAD' ? null : answer.text, { status: answer.status, headers })
}
