/**
 * One `POST /v1/watch` stream: opens it, decodes its frames and watches its keep-alives. A
 * stream silent for longer than `silenceMs` is treated as a dead connection (a frozen
 * server keeps its sockets open and sends nothing), closed, and reported as a TimeoutError.
 */
import { ServerUnavailableError, TimeoutError } from '../../errors.js'
import type { Transport } from '../../transport/types.js'
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

/** Resolves when the stream ends normally (the caller's signal, or the server's `closing`); rejects with why else. */
export async function runMuxStream(run: MuxStreamRun): Promise<void> {
  try {
    await readStream(run)
  } catch (error) {
    // Ended on purpose (the set changed, the backend closed): not a failure of the server.
    if (!run.signal.aborted) throw error
  }
}

async function readStream(run: MuxStreamRun): Promise<void> {
  const stream = await run.transport.stream({
    method: 'POST',
    path: WATCH_PATH,
    body: { resources: run.resources, keepAliveMs: run.keepAliveMs },
    timeoutMs: run.openTimeoutMs,
    signal: run.signal,
  })
  const source = `POST ${stream.server}${WATCH_PATH}`
  let silent = false
  let timer: NodeJS.Timeout | undefined
  const arm = (): void => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      silent = true
      stream.close()
    }, run.silenceMs)
    timer.unref()
  }
  arm()
  try {
    for await (const raw of stream.frames) {
      arm()
      const frame = decodeFrame(source, raw)
      run.onFrame(frame, source)
      if (frame.type === 'closing') return
    }
  } finally {
    clearTimeout(timer)
    stream.close()
  }
  if (silent) {
    throw new TimeoutError(`${source}: no frame for ${run.silenceMs} ms (keep-alives every ${run.keepAliveMs} ms): the server stopped answering`, {
      details: { url: `${stream.server}${WATCH_PATH}`, silenceMs: run.silenceMs },
    })
  }
  if (!run.signal.aborted) throw new ServerUnavailableError(`${source}: the server ended the watch stream`, { retryable: true })
}
