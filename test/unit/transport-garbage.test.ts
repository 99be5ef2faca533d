/**
 * The transport against real, misbehaving node:http servers on 127.0.0.1: every case must
 * reject with a GovernanceError within its deadline, never hang, crash or leak a rejection.
 */
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { GovernanceError, ProtocolError, ResponseTooLargeError, ServerError, ServerUnavailableError, TimeoutError } from '../../src/errors.js'
import { createTransport, type Transport } from '../../src/transport/index.js'
import { startLocalServer, type Handler, type LocalServer } from '../helpers/local-server.js'

const servers: LocalServer[] = []
const transports: Transport[] = []
const unhandledRejections: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandledRejections.push(reason)

beforeAll(() => void process.on('unhandledRejection', onUnhandled))
afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()))
  await Promise.all(servers.splice(0).map((s) => s.close()))
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  expect(unhandledRejections).toEqual([])
})

async function serve(handler: Handler): Promise<Transport> {
  const server = await startLocalServer(handler)
  servers.push(server)
  const t = createTransport({ servers: [server.url], requestTimeoutMs: 2_000, retry: { minDelayMs: 5, maxDelayMs: 20 } })
  transports.push(t)
  return t
}

/** Runs the call and checks it rejects with a GovernanceError within `within` ms. */
async function failure(call: Promise<unknown>, within = 2_500): Promise<GovernanceError> {
  const started = Date.now()
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(Date.now() - started).toBeLessThan(within)
  expect(err).toBeInstanceOf(GovernanceError)
  return err as GovernanceError
}

describe('garbage answers', () => {
  it('bad JSON on a 200 is a ProtocolError with an excerpt', async () => {
    const t = await serve((_req, res) => {
      res.setHeader('content-type', 'application/json')
      res.end('{"index": "4", "instances": [')
    })
    const err = await failure(t.request({ method: 'GET', path: '/v1/services/a' }))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/v1\/services\/a answered 200 with a body that is not JSON \(content type application\/json\): "\{"index": "4", "instances": \["$/)
  })

  it('an HTML page on a 200 is a ProtocolError naming the content type', async () => {
    const t = await serve((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8')
      res.end('<!doctype html><html><body><h1>Welcome to nginx!</h1></body></html>')
    })
    const err = await failure(t.request({ method: 'GET', path: '/v1/health' }))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.message).toContain('(content type text/html; charset=utf-8): "Welcome to nginx!"')
  })

  it('an HTML 500 is a ServerError with the page text, no tags', async () => {
    const t = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' })
      res.end('<html><head><title>500 Internal Server Error</title><style>h1{x:y}</style></head><body><h1>Internal Server Error</h1>\n<p>The server\tencountered an internal error.</p></body></html>')
    })
    const err = await failure(t.request({ method: 'GET', path: '/query' }))
    expect(err).toBeInstanceOf(ServerError)
    expect(err.status).toBe(500)
    expect(err.message).toMatch(/answered 500: 500 Internal Server Error Internal Server Error The server encountered an internal error\.$/)
  })

  it('a body that is not UTF-8 is a ProtocolError', async () => {
    const t = await serve((_req, res) => res.end(Buffer.from([0x22, 0xff, 0xfe, 0x22])))
    const err = await failure(t.request({ method: 'GET', path: '/x' }))
    expect(err).toBeInstanceOf(ProtocolError)
    expect(err.message).toContain('not UTF-8')
  })

  it('an answer that is not HTTP at all is a ProtocolError', async () => {
    const sockets: Socket[] = []
    const raw: NetServer = createNetServer((s: Socket) => (sockets.push(s), s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n')))
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r))
    const t = createTransport({ servers: [`http://127.0.0.1:${(raw.address() as { port: number }).port}`], requestTimeoutMs: 2000 })
    transports.push(t)
    try {
      const err = await failure(t.request({ method: 'GET', path: '/x', retry: false }))
      expect(err).toBeInstanceOf(ProtocolError)
      expect(err.message).toMatch(/not valid HTTP/)
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((r) => raw.close(r))
    }
  })
})

describe('silence and resets', () => {
  it('no answer at all rejects with TimeoutError within the timeout', async () => {
    const t = await serve(() => undefined)
    const started = Date.now()
    const err = await failure(t.request({ method: 'GET', path: '/v1/services/a', timeoutMs: 400 }), 1_000)
    expect(err).toBeInstanceOf(TimeoutError)
    expect(Date.now() - started).toBeGreaterThanOrEqual(390)
  })

  it('headers then silence mid-body rejects with TimeoutError', async () => {
    const t = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
      res.write('{"a":')
    })
    expect(await failure(t.request({ method: 'GET', path: '/x', timeoutMs: 300 }), 1_000)).toBeInstanceOf(TimeoutError)
  })

  it('a connection reset mid-body is ServerUnavailableError with its cause, after the retries', async () => {
    let hits = 0
    const t = await serve((_req, res) => {
      hits++
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' })
      res.write('{"instances": [', () => res.socket?.destroy())
    })
    const err = await failure(t.request({ method: 'GET', path: '/v1/services/a' }))
    expect(err).toBeInstanceOf(ServerUnavailableError)
    expect(err.cause).toBeDefined()
    expect(err.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/v1\/services\/a: connection failed/)
    expect(hits).toBe(3)
  })

  it('a reset before any answer on a POST is not retried (it may have been processed)', async () => {
    let hits = 0
    const t = await serve((req) => {
      hits++
      req.socket.destroy()
    })
    expect(await failure(t.request({ method: 'POST', path: '/v1/metrics', body: {} }))).toBeInstanceOf(ServerUnavailableError)
    expect(hits).toBe(1)
  })
})

describe('size cap', () => {
  it('stops reading a 200 MiB chunked answer at the cap, with bounded memory', async () => {
    const total = 200 * 1024 * 1024
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sent = 0
    let serverSawClose = false
    const t = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.on('close', () => (serverSawClose = true))
      const pump = (): void => {
        while (sent < total && !res.destroyed) {
          sent += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end()
      }
      pump()
    })
    globalThis.gc?.()
    const before = process.memoryUsage()
    const err = await failure(t.request({ method: 'GET', path: '/big', timeoutMs: 10_000 }), 10_000)
    const after = process.memoryUsage()
    expect(err).toBeInstanceOf(ResponseTooLargeError)
    expect(err.message).toMatch(/exceeds the 4194304-byte cap/)
    expect(after.rss - before.rss).toBeLessThan(64 * 1024 * 1024)
    expect(after.heapUsed - before.heapUsed).toBeLessThan(64 * 1024 * 1024)
    await expect.poll(() => serverSawClose).toBe(true)
    // The socket was destroyed: the server could not push more than the cap plus buffers.
    expect(sent).toBeLessThan(32 * 1024 * 1024)
  })

  it('refuses a declared Content-Length over the cap without reading it', async () => {
    const t = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024) })
      res.write('[')
    })
    const err = await failure(t.request({ method: 'GET', path: '/big', maxResponseBytes: 1024 }))
    expect(err).toBeInstanceOf(ResponseTooLargeError)
    expect(err.details).toMatchObject({ maxResponseBytes: 1024, contentLength: 200 * 1024 * 1024 })
  })

  it('an error page over the cap still maps by status', async () => {
    const t = await serve((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' })
      res.end('x'.repeat(1024 * 1024))
    })
    const err = await failure(t.request({ method: 'GET', path: '/x', retry: false }))
    expect(err).toBeInstanceOf(ServerUnavailableError)
    expect(err.message.length).toBeLessThan(400)
  })
})
