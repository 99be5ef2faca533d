/** The reference server's multiplexed watch (protocol section 4.1), read as raw NDJSON. */
import { getGlobalDispatcher } from 'undici'
import { describe, expect, it } from 'vitest'
import { call, instanceBody, onCleanup, startServer } from './helpers.js'

interface Frames {
  /** Resolves with the next frame that satisfies `match` (earlier ones are consumed). */
  next(match?: (frame: any) => boolean, timeoutMs?: number): Promise<any>
  close(): void
  readonly status: number
}

async function openWatch(base: string, body: unknown): Promise<Frames> {
  const controller = new AbortController()
  const res = await getGlobalDispatcher().request({
    origin: base, path: '/v1/watch', method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body), signal: controller.signal, bodyTimeout: 0,
  })
  const queue: any[] = []
  let wake: (() => void) | undefined
  let buffer = ''
  res.body.setEncoding('utf8')
  res.body.on('data', (chunk: string) => {
    buffer += chunk
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      queue.push(JSON.parse(buffer.slice(0, nl)))
      buffer = buffer.slice(nl + 1)
    }
    wake?.()
  })
  res.body.on('error', () => {})
  res.body.on('end', () => { queue.push({ type: '(end)' }); wake?.() })
  const close = (): void => controller.abort()
  onCleanup(async () => close())
  return {
    status: res.statusCode,
    close,
    async next(match = () => true, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const i = queue.findIndex(match)
        if (i >= 0) return queue.splice(0, i + 1).pop()
        if (Date.now() > deadline) throw new Error(`no matching frame within ${timeoutMs} ms; queued ${JSON.stringify(queue)}`)
        await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, 50) })
      }
    },
  }
}

const register = (base: string, service: string, id: string, extra = {}) =>
  call(base, 'PUT', `/v1/services/${service}/instances/${id}`, { body: instanceBody(extra) })

describe('POST /v1/watch', () => {
  it('is advertised by health', async () => {
    const server = await startServer()
    const health = await call(server.url, 'GET', '/v1/health')
    expect(health.json.features).toContain('watch-mux')
    expect(health.json.watchMux.maxResources).toBe(10_000)
  })

  it('sends full state first, then diffs and config changes, only for what changed', async () => {
    const server = await startServer()
    await register(server.url, 'a', 'a1')
    await register(server.url, 'a', 'a2')
    const watch = await openWatch(server.url, { resources: [{ service: 'a' }, { service: 'b', index: '0' }, { config: 'k' }], keepAliveMs: 200 })
    expect(watch.status).toBe(200)
    expect((await watch.next()).type).toBe('open')
    const a = await watch.next((f) => f.service === 'a')
    expect(a).toMatchObject({ full: true, reset: false })
    expect(a.instances.map((i: any) => i.id)).toEqual(['a1', 'a2'])
    expect(await watch.next((f) => f.service === 'b')).toMatchObject({ full: true, instances: [] })
    expect(await watch.next((f) => f.key === 'k')).toMatchObject({ entry: null })
    await register(server.url, 'a', 'a2', { port: 9090 })
    const diff = await watch.next((f) => f.service === 'a')
    expect(diff).toMatchObject({ full: false, from: a.index, remove: [] })
    expect(diff.upsert.map((i: any) => [i.id, i.port])).toEqual([['a2', 9090]])
    await call(server.url, 'DELETE', '/v1/services/a/instances/a1')
    expect(await watch.next((f) => f.service === 'a')).toMatchObject({ full: false, upsert: [], remove: ['a1'] })
    await call(server.url, 'PUT', '/v1/config/k', { body: { value: { on: true } } })
    expect(await watch.next((f) => f.type === 'config')).toMatchObject({ key: 'k', entry: { value: { on: true } } })
    const keepAlive = await watch.next((f) => f.type === 'keepalive')
    expect(BigInt(keepAlive.index)).toBeGreaterThan(BigInt(diff.index))
  })

  it('resumes from the given indexes: only resources behind them are sent', async () => {
    const server = await startServer()
    const reg = await register(server.url, 'a', 'a1')
    await register(server.url, 'b', 'b1')
    const watch = await openWatch(server.url, { resources: [{ service: 'a', index: reg.json.index }, { service: 'b', index: '1' }], keepAliveMs: 100 })
    await watch.next((f) => f.type === 'open')
    const next = await watch.next((f) => f.type !== 'open')
    expect(next).toMatchObject({ service: 'b', full: true })
    expect((await watch.next()).type).toBe('keepalive')
  })

  it('answers too many resources with a typed error, and a bad body with 400', async () => {
    const server = await startServer()
    const resources = Array.from({ length: 10_001 }, (_, i) => ({ service: `s${i}` }))
    const tooMany = await call(server.url, 'POST', '/v1/watch', { body: { resources } })
    expect(tooMany.status).toBe(400)
    expect(tooMany.json.error).toMatchObject({ code: 'too_many_resources', limit: '10000' })
    for (const body of [{}, { resources: [{ service: 'a', config: 'b' }] }, { resources: [{ service: 'a' }, { service: 'a' }] }, { resources: [], keepAliveMs: 5 }]) {
      expect((await call(server.url, 'POST', '/v1/watch', { body })).status).toBe(400)
    }
  })

  it('ends held streams with a closing frame when the server closes', async () => {
    const server = await startServer()
    const watch = await openWatch(server.url, { resources: [{ service: 'a', index: '1' }] })
    await watch.next((f) => f.type === 'open')
    const started = Date.now()
    await server.close()
    expect(Date.now() - started).toBeLessThan(4_000)
    expect((await watch.next()).type).toBe('closing')
    expect((await watch.next()).type).toBe('(end)')
  })
})

describe('POST /v1/watch with a slow reader', () => {
  it('coalesces changes while the client does not read, and sends the latest state once it does', async () => {
    const { connect } = await import('node:net')
    const server = await startServer()
    // 32 KB per instance, so that the diffs below (about 10 MB) outgrow the socket buffers.
    const big = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'x'.repeat(1_000)]))
    for (let i = 0; i < 100; i++) await register(server.url, 'big', `i${i}`, { metadata: big })
    const { port } = new URL(server.url)
    const socket = connect(Number(port), '127.0.0.1')
    onCleanup(async () => void socket.destroy())
    const body = JSON.stringify({ resources: [{ service: 'big' }], keepAliveMs: 100 })
    socket.write(`POST /v1/watch HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
    socket.pause() // reads nothing: the server's writes back up
    // Each change re-sends one instance; 300 of them, while nobody reads.
    for (let c = 0; c < 300; c++) await register(server.url, 'big', `i${c % 100}`, { metadata: big, port: 1_000 + c })
    const health = await call(server.url, 'GET', '/v1/health')
    expect(health.status).toBe(200)
    let received = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk))
    socket.resume()
    const last = `"port":1299`
    const deadline = Date.now() + 5_000
    while (!received.includes(last) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(received).toContain(last)
    // Without coalescing, the server would have queued all 300 diffs in memory.
    const frames = received.split('\n').filter((l) => l.startsWith('{"type":"service"'))
    expect(frames.length).toBeLessThan(200)
  })
})
