/**
 * Long-lived NDJSON answers (etcd's watch). The deadline covers only the wait for the
 * response headers: an idle watch may then stay open for minutes (no body timeout). One
 * parsed JSON value per line; the caller's signal or close() ends the stream.
 */
import { ClientClosedError, ProtocolError, ResponseTooLargeError, TimeoutError } from '../errors.js'
import { CallScope } from './call-scope.js'
import type { Connections } from './connections.js'
import { sanitizeExcerpt, type CallTarget } from './error-map.js'
import { failure, rejectStatus, sendHeld, withFailover, type ExchangeEnv, type Sent } from './exchange.js'
import { DEFAULT_MAX_RESPONSE_BYTES, type ResolvedTransportOptions } from './options.js'
import { prepareRequest } from './prepare.js'
import type { JsonStream, StreamOptions } from './types.js'

export interface StreamEnv {
  readonly connections: Connections
  readonly isClosed: () => boolean
  readonly options: ResolvedTransportOptions
  /** Open (and opening) streams, closed by the transport's close(). */
  readonly track: Set<{ close(): void }>
}

const NO_FRAME = Symbol('no frame')
const utf8 = new TextDecoder('utf-8', { fatal: true })

export async function openStream(env: StreamEnv, options: StreamOptions): Promise<JsonStream> {
  const timeoutMs = options.timeoutMs ?? env.options.requestTimeoutMs
  const closedReason = new ClientClosedError('the stream was closed')
  const ex: ExchangeEnv = {
    connections: env.connections,
    scope: new CallScope(timeoutMs, options.signal, () => headersTimeout(ex.lastTarget, timeoutMs)),
    isClosed: env.isClosed,
    lastTarget: { method: options.method, url: options.path },
  }
  const handle = { close: (): void => ex.scope.abort(closedReason) }
  env.track.add(handle)
  let releaseSlot: (() => void) | undefined
  const release = (): void => {
    ex.scope.dispose()
    env.track.delete(handle)
    releaseSlot?.()
  }
  let sent: Sent
  try {
    if (ex.scope.aborted) throw ex.scope.reason
    const prepared = prepareRequest(env.options, options)
    // Opening a watch is safe to repeat on another server: it changes nothing. Each server
    // gets a share of the wait for headers, so a hung one leaves time for the next.
    const plan = { idempotent: true, split: true, keep: true, attemptTimeoutMs: env.options.attemptTimeoutMs }
    sent = await withFailover(ex, plan, async (server, scope) => {
      const s = await sendHeld(ex, server, prepared, scope)
      const status = s.response.statusCode
      if ((status < 200 || status >= 300) && !options.accept?.includes(status)) {
        s.release()
        return rejectStatus(ex, s)
      }
      releaseSlot = s.release
      return s
    })
  } catch (error) {
    release()
    throw ex.scope.aborted ? ex.scope.reason : error
  }
  ex.scope.clearDeadline()
  const maxFrame = options.maxFrameBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  const iterator = readFrames(ex, sent, maxFrame, closedReason, release)
  let started = false
  return {
    status: sent.response.statusCode,
    server: sent.server.base,
    frames: {
      [Symbol.asyncIterator]: () => {
        started = true
        return iterator
      },
    },
    close: () => {
      handle.close()
      // A stream closed before anyone iterated it still lets go of its listeners.
      if (!started) release()
    },
  }
}

async function* readFrames(ex: ExchangeEnv, sent: Sent, maxFrame: number, closedReason: unknown, release: () => void): AsyncGenerator<unknown> {
  const { body } = sent.response
  const parts: Buffer[] = []
  let pending = 0
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let start = 0
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, nl)
        if (pending + piece.length > maxFrame) throw frameTooLarge(sent.target, maxFrame)
        const line = pending === 0 ? piece : Buffer.concat([...parts, piece], pending + piece.length)
        parts.length = 0
        pending = 0
        start = nl + 1
        const value = parseLine(line, sent.target)
        if (value !== NO_FRAME) yield value
      }
      if (start < chunk.length) {
        pending += chunk.length - start
        if (pending > maxFrame) throw frameTooLarge(sent.target, maxFrame)
        parts.push(chunk.subarray(start))
      }
    }
    // A last line without a newline is a frame too.
    if (pending > 0) {
      const value = parseLine(Buffer.concat(parts, pending), sent.target)
      if (value !== NO_FRAME) yield value
    }
  } catch (error) {
    if (ex.scope.aborted) {
      if (ex.scope.reason === closedReason) return
      throw ex.scope.reason
    }
    throw failure(ex, error, sent.target)
  } finally {
    // Ending early (close, break, a bad frame) must not leave the socket streaming.
    if (!body.destroyed) body.destroy()
    release()
  }
}

function parseLine(line: Buffer, target: CallTarget): unknown {
  let text: string
  try {
    text = utf8.decode(line)
  } catch (cause) {
    throw new ProtocolError(`${target.method} ${target.url}: a stream line is not UTF-8 text`, { cause, details: { url: target.url } })
  }
  if (text.trim() === '') return NO_FRAME
  try {
    return JSON.parse(text) as unknown
  } catch (cause) {
    const excerpt = sanitizeExcerpt(text, 80)
    throw new ProtocolError(`${target.method} ${target.url}: a stream line is not JSON: "${excerpt}"`, {
      cause,
      details: { url: target.url, method: target.method, excerpt },
    })
  }
}

function frameTooLarge(target: CallTarget, limit: number): ResponseTooLargeError {
  return new ResponseTooLargeError(`${target.method} ${target.url}: a stream line exceeds the ${limit}-byte cap`, {
    details: { url: target.url, method: target.method, maxFrameBytes: limit },
  })
}

function headersTimeout(target: CallTarget, timeoutMs: number): TimeoutError {
  return new TimeoutError(`${target.method} ${target.url}: no response headers within ${timeoutMs} ms`, {
    details: { url: target.url, method: target.method, timeoutMs },
  })
}
