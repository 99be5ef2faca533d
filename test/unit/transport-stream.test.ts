/** transport.stream(): NDJSON frames from a real node:http server on 127.0.0.1. */
import type { ServerResponse } from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AuthError, GovernanceError, ProtocolError, ResponseTooLargeError, ServerUnavailableError, TimeoutError } from '../../src/errors.js'
import { createTransport, type JsonStream, type Transport } from '../../src/transport/index.js'
import { refusedUrl, startLocalServer, type Handler, type LocalServer } from '../helpers/local-server.js'

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

async function serve(handler: Handler, extraServers: string[] = []): Promise<{ t: Transport; server: LocalServer }> {
  const server = await startLocalServer(handler)
  servers.push(server)
  const t = createTransport({ servers: [...extraServers, server.url], requestTimeoutMs: 1_000 })
  transports.push(t)
  return { t, server }
}

/** A response the test writes to as it likes. */
function heldResponse(): { handler: Handler; response: Promise<ServerResponse>; body: Promise<string> } {
  let resolveRes!: (r: ServerResponse) => void
  let resolveBody!: (b: string) => void
  const response = new Promise<ServerResponse>((r) => (resolveRes = r))
  const body = new Promise<string>((r) => (resolveBody = r))
  const handler: Handler = (req, res) => {
    let text = ''
    req.on('data', (c: Buffer) => (text += c.toString()))
    req.on('end', () => {
      resolveBody(text)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.flushHeaders()
      resolveRes(res)
    })
  }
  return { handler, response, body }
}

async function collect(stream: JsonStream): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const frame of stream.frames) out.push(frame)
  return out
}

describe('stream()', () => {
  it('yields one value per line, across chunk boundaries, and a last line without newline', async () => {
    const { handler, response, body } = heldResponse()
    const { t } = await serve(handler)
    const stream = await t.stream({ method: 'POST', path: '/v3/watch', body: { create_request: { key: 'a' } } })
    expect(stream.status).toBe(200)
    expect(JSON.parse(await body)).toEqual({ create_request: { key: 'a' } })
    const res = await response
    const frames = collect(stream)
    res.write('{"result":{"created":true}}\n{"res')
    res.write('ult":{"events":[1,2]}}\r\n\n   \n[3]\n"tail"')
    res.end()
    expect(await frames).toEqual([{ result: { created: true } }, { result: { events: [1, 2] } }, [3], 'tail'])
  })

  it('a malformed line makes the iterator throw ProtocolError', async () => {
    const { handler, response } = heldResponse()
    const { t } = await serve(handler)
    const stream = await t.stream({ method: 'POST', path: '/w' })
    ;(await response).end('{"ok":1}\n<html>oops</html>\n{"never":1}\n')
    const seen: unknown[] = []
    const err = await (async () => {
      for await (const f of stream.frames) seen.push(f)
    })().catch((e: unknown) => e)
    expect(seen).toEqual([{ ok: 1 }])
    expect(err).toBeInstanceOf(ProtocolError)
    expect((err as Error).message).toContain('a stream line is not JSON: "oops"')
  })

  it('a line over maxFrameBytes is ResponseTooLargeError', async () => {
    const { handler, response } = heldResponse()
    const { t } = await serve(handler)
    const stream = await t.stream({ method: 'POST', path: '/w', maxFrameBytes: 1024 })
    const res = await response
    res.write('{"small":true}\n')
    res.write(`"${'x'.repeat(800)}`)
    res.write('x'.repeat(800)) // no newline yet: still over the cap
    const seen: unknown[] = []
    const err = await (async () => {
      for await (const f of stream.frames) seen.push(f)
    })().catch((e: unknown) => e)
    expect(seen).toEqual([{ small: true }])
    expect(err).toBeInstanceOf(ResponseTooLargeError)
  })

  it('close() ends the iteration and the connection', async () => {
    const { handler, response } = heldResponse()
    const { t } = await serve(handler)
    const stream = await t.stream({ method: 'POST', path: '/w' })
    const res = await response
    const closed = new Promise<void>((r) => res.on('close', () => r()))
    res.write('1\n')
    const iterator = stream.frames[Symbol.asyncIterator]()
    expect(await iterator.next()).toEqual({ done: false, value: 1 })
    const pending = iterator.next()
    stream.close()
    stream.close()
    expect(await pending).toEqual({ done: true, value: undefined })
    await closed
  })

  it("the caller's signal ends it with the caller's reason", async () => {
    const { handler, response } = heldResponse()
    const { t } = await serve(handler)
    const controller = new AbortController()
    const stream = await t.stream({ method: 'POST', path: '/w', signal: controller.signal })
    await response
    const reason = new Error('unsubscribed')
    const pending = collect(stream)
    controller.abort(reason)
    await expect(pending).rejects.toBe(reason)
  })

  it('the deadline covers only the wait for headers, not an idle body', async () => {
    const { handler, response } = heldResponse()
    const { t } = await serve(handler)
    // Long enough that the headers always beat it, even on a starved CI core (they take ~1 ms).
    const timeoutMs = 1_000
    const started = performance.now()
    const stream = await t.stream({ method: 'POST', path: '/w', timeoutMs })
    const res = await response
    const frames = collect(stream)
    // The body stays idle until well past the moment the deadline would have ended the call.
    await new Promise((r) => setTimeout(r, started + timeoutMs + 300 - performance.now()))
    res.end('{"late":true}\n')
    expect(await frames).toEqual([{ late: true }])
  })

  it('no headers within timeoutMs is TimeoutError', async () => {
    const { t } = await serve(() => undefined)
    const started = Date.now()
    await expect(t.stream({ method: 'POST', path: '/w', timeoutMs: 200 })).rejects.toBeInstanceOf(TimeoutError)
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('a non-2xx answer is thrown as the mapped error', async () => {
    const { t } = await serve((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' })
      res.end('{"error":"etcdserver: invalid auth token","code":16,"message":"etcdserver: invalid auth token"}')
    })
    const err = await t.stream({ method: 'POST', path: '/v3/watch' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as Error).message).toContain('invalid auth token')
  })

  it('fails over from a dead server when opening', async () => {
    const { handler, response } = heldResponse()
    const { t } = await serve(handler, [await refusedUrl()])
    const stream = await t.stream({ method: 'POST', path: '/w' })
    ;(await response).end('7')
    expect(await collect(stream)).toEqual([7])
  })

  it('a reset mid-stream is ServerUnavailableError', async () => {
    const { handler, response } = heldResponse()
    const { t } = await serve(handler)
    const stream = await t.stream({ method: 'POST', path: '/w' })
    const res = await response
    res.write('1\n', () => res.socket?.destroy())
    const seen: unknown[] = []
    const err = await (async () => {
      for await (const f of stream.frames) seen.push(f)
    })().catch((e: unknown) => e)
    expect(seen).toEqual([1])
    expect(err).toBeInstanceOf(ServerUnavailableError)
  })

  it("transport.close() ends open streams' iteration", async () => {
    const { handler, response } = heldResponse()
    const { t } = await serve(handler)
    const stream = await t.stream({ method: 'POST', path: '/w' })
    await response
    const frames = collect(stream)
    await t.close()
    expect(await frames).toEqual([])
  })

  it('rejects bad options with a GovernanceError', async () => {
    const { t } = await serve(() => undefined)
    await expect(t.stream({ method: 'POST', path: '/w', maxFrameBytes: 0 })).rejects.toBeInstanceOf(GovernanceError)
  })
})
