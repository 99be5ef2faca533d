/**
 * What the Consul, Nacos and Eureka fakes share: a node:http server on a loopback port,
 * the fault controls of the testing kit (down, slow, error answers) and small answer
 * helpers. Each fake supplies one route function; this module owns sockets and faults.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

/** Faults every fake honours, in the spirit of the in-memory backend's FaultPlan. */
export interface FakeFaults {
  /** While true every request's connection is dropped without an answer (a dead server). */
  down: boolean
  /** Every answer waits this long first (a slow server); 0 for none. */
  delayMs: number
  /** The next `count` requests (matching `pathPrefix` when given) answer `status` with `body`. */
  failNext(count: number, status?: number, body?: string, pathPrefix?: string): void
  /** Ends every fault. */
  clear(): void
}

/** One parsed request as a fake's route sees it. */
export interface FakeRequest {
  readonly method: string
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingMessage['headers']
  readonly body: Buffer
  /** Aborted when the client goes away (ends held blocking queries). */
  readonly signal: AbortSignal
}

export interface FakeAnswer {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string | Buffer
}

export type FakeRoute = (request: FakeRequest) => FakeAnswer | Promise<FakeAnswer>

export interface FakeHttpServer {
  readonly url: string
  readonly faults: FakeFaults
  /** How many requests reached the route (after faults), per path prefix the caller asks for. */
  requests(pathPrefix?: string): number
  close(): Promise<void>
}

const MAX_BODY_BYTES = 4 * 1024 * 1024

interface ScheduledFailure {
  remaining: number
  readonly status: number
  readonly body: string
  readonly pathPrefix: string
}

class Faults implements FakeFaults {
  down = false
  delayMs = 0
  scheduled: ScheduledFailure[] = []

  failNext(count: number, status = 500, body = 'injected failure', pathPrefix = ''): void {
    this.scheduled.push({ remaining: count, status, body, pathPrefix })
  }

  take(path: string): FakeAnswer | undefined {
    const i = this.scheduled.findIndex((f) => path.startsWith(f.pathPrefix))
    if (i < 0) return undefined
    const f = this.scheduled[i]!
    if (--f.remaining <= 0) this.scheduled.splice(i, 1)
    return text(f.status, f.body)
  }

  clear(): void {
    this.down = false
    this.delayMs = 0
    this.scheduled = []
  }
}

export function text(status: number, body: string, headers: Record<string, string> = {}): FakeAnswer {
  return { status, body, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } }
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): FakeAnswer {
  return { status, body: JSON.stringify(value), headers: { 'content-type': 'application/json', ...headers } }
}

/** Starts a fake on 127.0.0.1, port 0 (a free one). */
export async function startFakeHttp(route: FakeRoute): Promise<FakeHttpServer> {
  const faults = new Faults()
  const paths: string[] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => void serve(req, res))
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (faults.down) return void req.socket.destroy()
    const gone = new AbortController()
    res.once('close', () => gone.abort())
    try {
      const url = new URL(req.url ?? '/', 'http://fake')
      const body = await readRequestBody(req, MAX_BODY_BYTES)
      if (body === undefined) return void res.writeHead(413, { connection: 'close' }).end('request body too large')
      if (faults.delayMs > 0) await new Promise((r) => setTimeout(r, faults.delayMs))
      if (faults.down) return void req.socket.destroy()
      paths.push(url.pathname)
      const answer =
        faults.take(url.pathname) ??
        (await route({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, signal: gone.signal }))
      if (res.destroyed) return
      res.writeHead(answer.status, answer.headers ?? {})
      res.end(answer.body ?? '')
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`fake failed: ${(error as Error).message}`)
      else req.socket.destroy()
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    requests: (prefix = '') => paths.filter((p) => p.startsWith(prefix)).length,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const s of sockets) s.destroy()
      })
      return closing
    },
  }
}

/** A request body, or undefined once it passes `maxBytes` (the caller answers 413). */
export async function readRequestBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxBytes) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}

/**
 * Holds a blocking query: resolves true as soon as `changed()` holds after a `notify`,
 * false when `waitMs` passes or the client leaves.
 */
export class ChangeWaiters {
  private readonly waiters = new Set<() => void>()

  /** Wakes every held query, in random order: a real server answers them concurrently, no order promised. */
  notify(): void {
    const all = [...this.waiters]
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[all[i], all[j]] = [all[j]!, all[i]!]
    }
    for (const wake of all) wake()
  }

  wait(changed: () => boolean, waitMs: number, signal: AbortSignal): Promise<boolean> {
    if (changed()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const finish = (result: boolean): void => {
        clearTimeout(timer)
        this.waiters.delete(check)
        signal.removeEventListener('abort', onAbort)
        resolve(result)
      }
      const check = (): void => {
        if (changed()) finish(true)
      }
      const onAbort = (): void => finish(false)
      const timer = setTimeout(() => finish(false), waitMs)
      timer.unref?.()
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiters.add(check)
    })
  }
}

/** Go-style durations as Consul and friends write them: "10s", "1m", "1500ms", "1h30m". */
export function parseGoDuration(value: string): number | undefined {
  if (!/^([0-9.]+(ns|us|µs|ms|s|m|h))+$/.test(value)) return /^[0-9]+$/.test(value) ? Number(value) / 1e6 : undefined
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }
  let total = 0
  for (const [, n, unit] of value.matchAll(/([0-9.]+)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * units[unit!]!
  return total
}
