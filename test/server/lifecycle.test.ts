import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { call, startServer } from './helpers.js'

function readAll(socket: Socket): Promise<string> {
  let text = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
  return once(socket, 'close').then(() => text)
}

describe('server options and lifecycle', () => {
  it('resolves listening on 127.0.0.1 with a real port and a matching url', async () => {
    const s = await startServer()
    expect(s.host).toBe('127.0.0.1')
    expect(s.port).toBeGreaterThan(0)
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`)
    expect((await call(s.url, 'GET', '/v1/health')).status).toBe(200)
  })

  it.each([
    ['port', { port: -1 }],
    ['port', { port: 70_000 }],
    ['port', { port: '80' }],
    ['host', { host: '' }],
    ['dataDir', { dataDir: '' }],
    ['maxBodyBytes', { maxBodyBytes: 0 }],
    ['maxBodyBytes', { maxBodyBytes: 1.5 }],
    ['logger', { logger: {} }],
    ['token', { token: 5 }],
  ])('rejects a bad %s eagerly, naming it', async (option, options) => {
    const attempt = createGovernanceServer(options as never)
    await expect(attempt).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(attempt).rejects.toThrow(new RegExp(`^server\\.${option} `))
  })

  it('answers HEAD like GET without a body, and lists HEAD in Allow', async () => {
    const s = await startServer()
    const head = await call(s.url, 'HEAD', '/v1/services/a')
    expect(head.status).toBe(200)
    expect(head.text).toBe('')
    expect(head.headers['x-governance-index']).toBe('1')
    expect((await call(s.url, 'POST', '/v1/services/a')).headers['allow']).toBe('GET, HEAD')
    expect((await call(s.url, 'PATCH', '/v1/config/k')).headers['allow']).toBe('GET, PUT, DELETE, HEAD')
  })

  it('honours maxBodyBytes', async () => {
    const s = await startServer({ maxBodyBytes: 2_048 })
    expect((await call(s.url, 'PUT', '/v1/config/k', { body: { value: 'x'.repeat(2_100) } })).status).toBe(413)
    expect((await call(s.url, 'PUT', '/v1/config/k', { body: { value: 'x'.repeat(1_900) } })).status).toBe(200)
  })

  it('fails clearly when the port is taken', async () => {
    const s = await startServer()
    await expect(createGovernanceServer({ port: s.port })).rejects.toThrow(/cannot listen on 127\.0\.0\.1/)
  })

  it('closes idempotently, refuses new connections afterwards, and supports await using', async () => {
    const s = await createGovernanceServer()
    const first = s.close()
    expect(s.close()).toBe(first)
    await first
    await expect(call(s.url, 'GET', '/v1/health')).rejects.toThrow()
    let url: string
    {
      await using scoped = await createGovernanceServer()
      url = scoped.url
      expect((await call(url, 'GET', '/v1/health')).status).toBe(200)
    }
    await expect(call(url, 'GET', '/v1/health')).rejects.toThrow()
  })

  it('lets an in-flight request finish during close and tells the client to reconnect', async () => {
    const s = await createGovernanceServer()
    const socket = connect(s.port, '127.0.0.1')
    await once(socket, 'connect')
    const reply = readAll(socket)
    const body = JSON.stringify({ value: 'late' })
    socket.write(
      `PUT /v1/config/k HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    )
    // "100 Continue" means the server has the request; close starts while it is in flight.
    await once(socket, 'data')
    const closed = s.close()
    socket.write(body)
    const text = await reply
    await closed
    expect(text).toMatch(/HTTP\/1\.1 200 OK/)
    expect(text.toLowerCase()).toContain('connection: close')
    expect(text).toContain('"value":"late"')
  })

  it('cuts connections still busy after the grace period', async () => {
    const s = await createGovernanceServer({ closeGraceMs: 100 })
    const socket = connect(s.port, '127.0.0.1')
    await once(socket, 'connect')
    socket.write('PUT /v1/config/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n')
    await once(socket, 'data')
    const closedSocket = once(socket, 'close')
    const started = performance.now()
    await s.close()
    await closedSocket
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})
