/**
 * One `POST /v1/watch` stream: opens it, decodes its frames and watches its keep-alives. A
 * stream silent for longer than `silenceMs` is treated as a dead connection (a frozen
 * server keeps its sockets open and sends nothing), closed, and reported as a TimeoutError.
 */
import { RequestRejectedError, ServerUnavailableError, TimeoutError } from '../../errors.js'
import type { JsonStream, Transport } from '../../transport/types.js'
import { decodeFrame, type MuxFrame } from './mux-frames.js'

export const WATCH_PATH = '/v1/watch'

/** One resource in the request body: a service or a config key, and the index held. */
export interface MuxResourceBody {
  readonly service?: string
  readonly config?: string
  readonly index: string
}

export interface MuxStreamRun {
  readonly transport: Transport
  readonly resources: readonly MuxResourceBody[]
  readonly keepAliveMs: number
  /** Silence (no frame at all) past this means the connection is dead. */
  readonly silenceMs: number
  /** Bounds the wait for the response headers. */
  readonly openTimeoutMs: number
  readonly signal: AbortSignal
  /** Called for every frame, in order; a throw (a ProtocolError) ends the stream with it. */
  readonly onFrame: (frame: MuxFrame, source: string) => void
}

/** How a stream ended without a failure. */
export type MuxStreamEnd = 'ended' | 'unsupported'

/** The server refused the set as too large; `limit` is what it carries. */
export class MuxLimitError extends RequestRejectedError {
  static override readonly kind: string = 'MuxLimitError'
  constructor(
    message: string,
    readonly limit: number,
  ) {
    super(message, { status: 400, details: { limit } })
  }
}

/**
 * Resolves 'ended' when the stream ends normally (the caller's signal, or the server's
 * `closing`) and 'unsupported' when the server has no such route (404/405: an older
 * server); rejects with why else.
 */
export async function runMuxStream(run: MuxStreamRun): Promise<MuxStreamEnd> {
  try {
    return await readStream(run)
  } catch (error) {
    // Ended on purpose (the set changed, the backend closed): not a failure of the server.
    if (!run.signal.aborted) throw error
    return 'ended'
  }
}

async function readStream(run: MuxStreamRun): Promise<MuxStreamEnd> {
  const stream = await run.transport.stream({
    method: 'POST',
    path: WATCH_PATH,
    body: { resources: run.resources, keepAliveMs: run.keepAliveMs },
    timeoutMs: run.openTimeoutMs,
    signal: run.signal,
    accept: [400, 404, 405],
  })
  const source = `POST ${stream.server}${WATCH_PATH}`
  if (stream.status !== 200) return refused(stream, source)
  let silent = false
  // The `open` frame comes at once: a server that sends headers and then nothing (or a
  // body that never completes) is caught within the open timeout, not the silence bound.
  let silenceMs = Math.min(run.silenceMs, run.openTimeoutMs)
  let timer: NodeJS.Timeout | undefined
  const arm = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      silent = true
      stream.close()
    }, silenceMs)
    timer.unref()
  }
  arm()
  try {
    for await (const raw of stream.frames) {
      const frame = decodeFrame(source, raw)
      // A server that applied a longer interval than asked is not silent between its keep-alives.
      if (frame.type === 'open') silenceMs = run.silenceMs + 2 * Math.max(0, frame.keepAliveMs - run.keepAliveMs)
      arm()
      run.onFrame(frame, source)
      if (frame.type === 'closing') return 'ended'
    }
  } finally {
    clearTimeout(timer)
    stream.close()
  }
  if (silent) {
    throw new TimeoutError(`${source}: no frame for ${silenceMs} ms (keep-alives asked every ${run.keepAliveMs} ms): the server stopped answering`, {
      details: { url: `${stream.server}${WATCH_PATH}`, silenceMs },
    })
  }
  if (!run.signal.aborted) throw new ServerUnavailableError(`${source}: the server ended the watch stream`, { retryable: true })
  return 'ended'
}

/** A 404/405 (no such route: an older server) or a 400 (too many resources, or a bad request). */
async function refused(stream: JsonStream, source: string): Promise<MuxStreamEnd> {
  if (stream.status !== 400) {
    stream.close()
    return 'unsupported'
  }
  let error: { code?: unknown; message?: unknown; limit?: unknown } | undefined
  try {
    for await (const raw of stream.frames) {
      error = (raw as { error?: typeof error } | null)?.error
      break
    }
  } finally {
    stream.close()
  }
  const said = typeof error?.message === 'string' ? error.message : 'bad request'
  const limit = Number(error?.limit)
  if (error?.code === 'too_many_resources' && Number.isInteger(limit) && limit > 0) throw new MuxLimitError(`${source} answered 400: ${said}`, limit)
  throw new RequestRejectedError(`${source} answered 400: ${said}`, { status: 400, details: { serverCode: error?.code } })
}
