/**
 * A server that answers every protocol v1 request with garbage of one kind, and the scenario
 * the api-robustness-garbage-* tests run against each kind: every network call of a real
 * GovernanceClient rejects with the fitting GovernanceError within about its deadline; the
 * background loops only emit events and log; close() still finishes; nothing escapes to the
 * process and no timer is left behind.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { once } from 'node:events'
import { expect } from 'vitest'
import {
  GovernanceClient,
  GovernanceError,
  ProtocolError,
  ResponseTooLargeError,
  ServerError,
  ServerUnavailableError,
  TimeoutError,
  type GovernanceEventName,
} from '../../src/index.js'
import { describeShort, failureOf, recordingLogger, TimerTracker } from './api-robustness-helpers.js'

export type GarbageKind =
  | 'bad-json'
  | 'html-500'
  | 'wrong-shape'
  | 'wrong-types'
  | 'hang'
  | 'oversized-chunked'
  | 'oversized-declared'
  | 'reset'

/** The client's body cap (transport default, 4 MiB); the oversized answers go several MiB over it. */
const CAP = 4 * 1024 * 1024
const OVERSIZE = CAP + 6 * 1024 * 1024

export const REQUEST_TIMEOUT_MS = 300
export const REGISTER_TIMEOUT_MS = 800
export const EXPORT_TIMEOUT_MS = 500
/** Slack over a deadline for "within about its timeout": retries' last attempt, event-loop turns. */
const SLACK_MS = 1_000

/** What a well-behaved caller gets from each kind of garbage. */
export const EXPECTED: Record<GarbageKind, abstract new (...args: never[]) => GovernanceError> = {
  'bad-json': ProtocolError,
  'html-500': ServerError,
  'wrong-shape': ProtocolError,
  'wrong-types': ProtocolError,
  hang: TimeoutError,
  'oversized-chunked': ResponseTooLargeError,
  'oversized-declared': ResponseTooLargeError,
  reset: ServerUnavailableError,
}

export interface GarbageServer {
  readonly url: string
  readonly requests: number
  close(): Promise<void>
}

/** Right shape, wrong field types, per route: each answer fails one field check. */
function wrongTypes(req: IncomingMessage): { status: number; body: unknown } {
  const path = req.url ?? '/'
  const instance = { id: 'x', service: 'orders', address: '127.0.0.1', port: '8080', status: 'UP', metadata: {}, tags: [], weight: 1 }
  if (path.startsWith('/v1/metrics')) return { status: 202, body: { accepted: 'all of them' } }
  if (path.includes('/heartbeat')) return { status: 200, body: { ttlMs: '15000' } }
  if (path.includes('/instances/')) {
    if (req.method === 'DELETE') return { status: 200, body: { removed: 'yes', index: '2' } }
    const id = decodeURIComponent(path.split('/instances/')[1]!.split(/[/?]/)[0]!)
    return { status: 200, body: { instance: { ...instance, id }, ttlMs: 15_000, index: '2' } }
  }
  if (path.startsWith('/v1/services/')) return { status: 200, body: { service: 'payments', instances: { a: instance }, index: '2' } }
  if (path.startsWith('/v1/config/')) {
    const key = decodeURIComponent(path.slice('/v1/config/'.length).split('?')[0]!)
    return { status: 200, body: { key, value: 1, version: 5, index: 2 } }
  }
  return { status: 200, body: { unexpected: true } }
}

/** Streams `bytes` of a JSON array, respecting backpressure, until done or the client goes away. */
async function stream(res: ServerResponse, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(1024 * 1024, '1,')
  res.writeHead(200, { 'content-type': 'application/json' })
  res.write('[')
  for (let sent = 0; sent < bytes && !res.destroyed; sent += chunk.length) {
    if (!res.write(chunk)) {
      // The losing wait is cancelled: left attached, each would keep an 'error' listener on res.
      const waits = new AbortController()
      const drained = await Promise.race([
        once(res, 'drain', { signal: waits.signal }).then(() => true, () => false),
        once(res, 'close', { signal: waits.signal }).then(() => false, () => false),
      ])
      waits.abort()
      if (!drained) return
    }
  }
  if (!res.destroyed) res.end('1]')
}

function answer(kind: GarbageKind, req: IncomingMessage, res: ServerResponse): void {
  switch (kind) {
    case 'bad-json':
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"instances": [1, 2,')
      return
    case 'html-500':
      res.writeHead(500, { 'content-type': 'text/html' }).end('<html><body><h1>500 Internal Server Error</h1>nginx</body></html>')
      return
    case 'wrong-shape':
      res.writeHead(200, { 'content-type': 'application/json' }).end('["not", "what", "you", "asked", "for"]')
      return
    case 'wrong-types': {
      const { status, body } = wrongTypes(req)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      return
    }
    case 'hang':
      return // never answers; the socket is destroyed when the server closes
    case 'oversized-chunked':
      void stream(res, OVERSIZE)
      return
    case 'oversized-declared':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(OVERSIZE) })
      res.write('[1,')
      return // the rest never comes; the client must refuse on the header alone
    case 'reset':
      req.socket.destroy()
      return
  }
}

export async function startGarbageServer(kind: GarbageKind): Promise<GarbageServer> {
  let requests = 0
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    requests++
    // A client that gives up mid-answer resets the connection: expected here, not a failure.
    req.on('error', () => {})
    res.on('error', () => {})
    req.resume()
    answer(kind, req, res)
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get requests() {
      return requests
    },
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

const EVENTS: GovernanceEventName[] = [
  'registry:registered',
  'registry:renewFailed',
  'registry:leaseLost',
  'discovery:changed',
  'discovery:stale',
  'config:changed',
  'config:rejected',
  'metrics:exported',
  'metrics:exportFailed',
  'metrics:dropped',
  'error',
]

/** The whole check for one kind of garbage; `failures` is the file's process-level capture. */
export async function runGarbageScenario(kind: GarbageKind, failures: readonly unknown[]): Promise<void> {
  const timers = new TimerTracker()
  timers.start()
  const server = await startGarbageServer(kind)
  const logger = recordingLogger()
  const gov = new GovernanceClient({
    server: server.url,
    service: { name: 'orders', port: 8080, address: '127.0.0.1' },
    heartbeatIntervalMs: 200,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    registerTimeoutMs: REGISTER_TIMEOUT_MS,
    logger,
    discovery: { recoveryBackoff: { minDelayMs: 20, maxDelayMs: 100 } },
    metrics: { processMetrics: false, flushIntervalMs: 60_000, exportTimeoutMs: EXPORT_TIMEOUT_MS, retry: { minDelayMs: 50, maxDelayMs: 100 } },
  })
  const events: { event: string; payload: unknown }[] = []
  for (const event of EVENTS) gov.on(event, (payload: unknown) => void events.push({ event, payload }))
  let changes: Promise<IteratorResult<unknown>> | undefined
  try {
    gov.metrics.counter('garbage_total').inc(1, { kind })
    await foreground(kind, gov)
    changes = (await background(kind, gov, logger, events)).next
  } finally {
    const closing = performance.now()
    await gov.close()
    const closeMs = performance.now() - closing
    await server.close()
    // A changes() iterator ends cleanly when the client closes: no throw, no garbage value.
    if (changes !== undefined) {
      const end = await failureOf(`${kind}: changes() after close`, () => changes!.then((r) => Promise.reject(r)), 1_000)
      expect(end.error, `${kind}: changes() should end`).toEqual({ done: true, value: undefined })
    }
    expect(closeMs, `${kind}: close() took ${Math.round(closeMs)} ms`).toBeLessThan(EXPORT_TIMEOUT_MS + REQUEST_TIMEOUT_MS + SLACK_MS)
    expect(timers.stop(), `${kind}: timers left behind after close()`).toEqual([])
  }
  expect(server.requests, `${kind}: the garbage server was never asked`).toBeGreaterThan(0)
  // Every failure the client reported is typed; no 'error' event carries anything else.
  for (const { event, payload } of events) {
    const error = event === 'error' ? payload : (payload as { error?: unknown }).error
    if (error !== undefined) expect(error instanceof GovernanceError, `${kind}: ${event} carried ${describeShort(error)}`).toBe(true)
  }
  expect(events.some((e) => e.event === 'registry:registered' || e.event === 'metrics:exported' || e.event === 'discovery:changed'), `${kind}: a success event from garbage`).toBe(false)
  expect(failures.map((f) => (f as unknown[]).slice(0, 2)), `${kind}: process-level failures`).toEqual([])
}

/** Each network call rejects with a GovernanceError of the expected class, within its deadline. */
async function foreground(kind: GarbageKind, gov: GovernanceClient): Promise<void> {
  const expected = EXPECTED[kind]
  // register() waits out registerTimeoutMs for a failure worth retrying, and gives up at once on one that is not.
  const registerClass = expected === ProtocolError || expected.prototype instanceof ProtocolError ? expected : TimeoutError
  const calls: [string, () => Promise<unknown>, number, abstract new (...args: never[]) => GovernanceError][] = [
    ['register()', () => gov.register(), REGISTER_TIMEOUT_MS, registerClass],
    ['discover()', () => gov.discover('payments'), REQUEST_TIMEOUT_MS, expected],
    ['pick()', () => gov.pick('payments'), REQUEST_TIMEOUT_MS, expected],
    ['config.get()', () => gov.config.get('orders'), REQUEST_TIMEOUT_MS, expected],
    ['config.put()', () => gov.config.put('orders', { limit: 1 }), REQUEST_TIMEOUT_MS, expected],
    ['config.delete()', () => gov.config.delete('orders'), REQUEST_TIMEOUT_MS, expected],
    ['metrics.flush()', () => gov.metrics.flush(), EXPORT_TIMEOUT_MS, expected],
  ]
  const outcomes = await Promise.all(calls.map(([label, call, deadline]) => failureOf(`${kind}: ${label}`, call, deadline + 2_000)))
  outcomes.forEach((outcome, i) => {
    const [label, , deadline, cls] = calls[i]!
    const shown = describeShort(outcome.error)
    expect(outcome.sync, `${kind}: ${label} threw synchronously`).toBe(false)
    expect(outcome.error instanceof cls, `${kind}: ${label} should reject with ${cls.name}, got ${shown}`).toBe(true)
    const message = (outcome.error as Error).message
    expect(message.length, `${kind}: ${label} message too long`).toBeLessThan(2_000)
    expect(message, `${kind}: ${label} message says nothing`).toMatch(/\S{3,}/)
    expect(message, `${kind}: ${label} leaked "undefined" into its message`).not.toMatch(/\bundefined\b.*\bundefined\b/)
    expect(outcome.ms, `${kind}: ${label} took ${Math.round(outcome.ms)} ms`).toBeLessThan(deadline + SLACK_MS)
  })
}

/** The loops keep failing in the background: events and log lines only, never a throw. */
async function background(
  kind: GarbageKind,
  gov: GovernanceClient,
  logger: ReturnType<typeof recordingLogger>,
  events: readonly { event: string }[],
): Promise<{ next: Promise<IteratorResult<unknown>> }> {
  await gov.register({ wait: false })
  const seen: unknown[] = []
  const stop = gov.config.watch('orders', (value) => void seen.push(value))
  const iterator = gov.config.changes('limits')
  const next = iterator.next()
  gov.metrics.counter('garbage_total').inc(1, { kind })
  const renewFailures = (): number => events.filter((e) => e.event === 'registry:renewFailed').length
  const before = renewFailures()
  await expect.poll(renewFailures, { timeout: 3_000, interval: 20 }).toBeGreaterThanOrEqual(before + 2)
  await expect
    .poll(() => logger.lines.some((l) => /config watch of orders failed/.test(l.message)), { timeout: 3_000, interval: 20 })
    .toBe(true)
  // The cached (failed) discovery answers the same clean error again, from its background retries.
  const again = await failureOf(`${kind}: discover() again`, () => gov.discover('payments'), REQUEST_TIMEOUT_MS + 2_000)
  expect(again.error instanceof GovernanceError, `${kind}: discover() again: ${describeShort(again.error)}`).toBe(true)
  expect(gov.registrationState === 'registering' || gov.registrationState === 'lost').toBe(true)
  expect(seen).toEqual([]) // garbage is never delivered as a value
  stop()
  // Wrapped: an async function returning the promise itself would wait for it (until close()).
  return { next }
}
