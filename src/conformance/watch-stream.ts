/** Reads a `POST /v1/watch` stream frame by frame for the multiplexed-watch checks. */
import { getGlobalDispatcher } from 'undici'
import { CheckSkipped, fail } from './expect.js'
import { probe, type ConformanceContext } from './http.js'

export type Frame = Record<string, unknown>

export interface WatchStream {
  readonly status: number
  /** Resolves with the next frame that satisfies `match`; earlier frames are consumed. */
  next(match: (frame: Frame) => boolean, what: string, timeoutMs?: number): Promise<Frame>
  /** Frames received so far and not consumed. */
  pending(): readonly Frame[]
  close(): void
}

export interface MuxLimits {
  readonly maxResources: number
}

/** The server's advertised watch-mux limits; skips the check when it does not offer the feature. */
export async function requireWatchMux(ctx: ConformanceContext): Promise<MuxLimits> {
  const health = (await probe(ctx, 'GET', '/v1/health', { token: null })).json as Record<string, unknown> | undefined
  const features = health?.['features']
  if (!Array.isArray(features) || !features.includes('watch-mux')) throw new CheckSkipped('the server does not advertise watch-mux (optional)')
  const max = (health?.['watchMux'] as Record<string, unknown> | undefined)?.['maxResources']
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) fail(`health: watchMux.maxResources must be a positive integer, got ${JSON.stringify(max)}`)
  return { maxResources: max }
}

export async function openWatch(ctx: ConformanceContext, body: unknown): Promise<WatchStream> {
  const controller = new AbortController()
  const res = await getGlobalDispatcher().request({
    origin: new URL(ctx.url).origin,
    path: '/v1/watch',
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(ctx.token ? { authorization: `Bearer ${ctx.token}` } : {}) },
    body: JSON.stringify(body),
    signal: controller.signal,
    headersTimeout: 10_000,
    bodyTimeout: 0,
  })
  const queue: Frame[] = []
  let buffer = ''
  let ended = false
  let wake: (() => void) | undefined
  res.body.setEncoding('utf8')
  res.body.on('data', (chunk: string) => {
    buffer += chunk
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      try {
        queue.push(JSON.parse(line) as Frame)
      } catch {
        queue.push({ type: '(not JSON)', line: line.slice(0, 200) })
      }
    }
    wake?.()
  })
  res.body.on('error', () => undefined)
  res.body.on('close', () => {
    ended = true
    wake?.()
  })
  return {
    status: res.statusCode,
    pending: () => [...queue],
    close: () => controller.abort(),
    async next(match, what, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs
      for (;;) {
        const i = queue.findIndex(match)
        if (i >= 0) return queue.splice(0, i + 1).pop()!
        const left = deadline - performance.now()
        if (ended || left <= 0) fail(`POST /v1/watch: no ${what} within ${timeoutMs} ms${ended ? ' (the stream ended)' : ''}; frames: ${JSON.stringify(queue).slice(0, 300)}`)
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, Math.min(left, 100))
        })
      }
    },
  }
}

/** Opens a watch and checks it answers 200 with the `open` frame first. */
export async function openedWatch(ctx: ConformanceContext, body: unknown): Promise<WatchStream> {
  const stream = await openWatch(ctx, body)
  if (stream.status !== 200) {
    stream.close()
    fail(`POST /v1/watch: expected status 200, got ${stream.status}`)
  }
  const first = await stream.next(() => true, 'first frame')
  if (first['type'] !== 'open') fail(`POST /v1/watch: the first frame must be {"type":"open"}, got ${JSON.stringify(first)}`)
  return stream
}
