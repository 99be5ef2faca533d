import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { call, errorCode, instanceBody, startServer, until, untilHeld } from './helpers.js'
import { openIdle, rawRequest, rawStatus } from './raw-socket.js'

const health = async (url: string): Promise<any> => (await call(url, 'GET', '/v1/health')).json
const point = (name: string) => ({ name, kind: 'gauge', labels: {}, value: 1 })
let seq = 0
const batch = (service: string, names: string[], instance = 'i-1') => ({ batchId: `b${++seq}`, service, instance, timestamp: Date.now(), points: names.map(point) })

describe('limits: each answers its status, is counted, and the server keeps serving', () => {
  it('instances per service and services: 429 limit_exceeded naming the limit', async () => {
    const s = await startServer({ maxInstancesPerService: 2, maxServices: 2 })
    for (const id of ['1', '2']) expect((await call(s.url, 'PUT', `/v1/services/a/instances/${id}`, { body: instanceBody() })).status).toBe(200)
    const third = await call(s.url, 'PUT', '/v1/services/a/instances/3', { body: instanceBody() })
    expect([third.status, errorCode(third), third.json.error.limit]).toEqual([429, 'limit_exceeded', 'maxInstancesPerService'])
    // Re-registering an existing instance is not a new one.
    expect((await call(s.url, 'PUT', '/v1/services/a/instances/2', { body: instanceBody({ port: 9 }) })).status).toBe(200)
    expect((await call(s.url, 'PUT', '/v1/services/b/instances/1', { body: instanceBody() })).status).toBe(200)
    const third_service = await call(s.url, 'PUT', '/v1/services/c/instances/1', { body: instanceBody() })
    expect([third_service.status, third_service.json.error.limit]).toEqual([429, 'maxServices'])
    // Room again once a service empties.
    await call(s.url, 'DELETE', '/v1/services/b/instances/1')
    expect((await call(s.url, 'PUT', '/v1/services/c/instances/1', { body: instanceBody() })).status).toBe(200)
    const stats = (await health(s.url)).stats
    expect([stats.instancesRefused, stats.servicesRefused, stats.usage.services]).toEqual([1, 1, 2])
  })

  it('config keys, total bytes and value size: 429 and 413, nothing stored', async () => {
    const s = await startServer({ maxConfigKeys: 2, maxConfigBytes: 2_048, maxValueBytes: 1_500 })
    expect((await call(s.url, 'PUT', '/v1/config/a', { body: { value: 1 } })).status).toBe(200)
    expect((await call(s.url, 'PUT', '/v1/config/b', { body: { value: 'x'.repeat(1_000) } })).status).toBe(200)
    const keys = await call(s.url, 'PUT', '/v1/config/c', { body: { value: 1 } })
    expect([keys.status, errorCode(keys), keys.json.error.limit]).toEqual([429, 'limit_exceeded', 'maxConfigKeys'])
    const bytes = await call(s.url, 'PUT', '/v1/config/a', { body: { value: 'y'.repeat(1_400) } })
    expect([bytes.status, errorCode(bytes), bytes.json.error.limit]).toEqual([413, 'payload_too_large', 'maxConfigBytes'])
    const value = await call(s.url, 'PUT', '/v1/config/a', { body: { value: 'z'.repeat(2_000) } })
    expect([value.status, value.json.error.limit]).toEqual([413, 'maxValueBytes'])
    expect((await call(s.url, 'GET', '/v1/config/a')).json.value).toBe(1)
    // Shrinking a value is always allowed, and frees room for a new key after a delete.
    expect((await call(s.url, 'DELETE', '/v1/config/b')).status).toBe(200)
    expect((await call(s.url, 'PUT', '/v1/config/c', { body: { value: 2 } })).status).toBe(200)
    const stats = (await health(s.url)).stats
    expect([stats.configKeysRefused, stats.configBytesRefused, stats.valueBytesRefused, stats.usage.configKeys]).toEqual([1, 1, 1, 2])
  })

  it('metric series per service and in total: 429 for the whole batch', async () => {
    const s = await startServer({ maxSeriesPerService: 3, maxSeries: 5 })
    expect((await call(s.url, 'POST', '/v1/metrics', { body: batch('a', ['m1', 'm2']) })).status).toBe(202)
    const over = await call(s.url, 'POST', '/v1/metrics', { body: batch('a', ['m3', 'm4'], 'i-2') })
    expect([over.status, over.json.error.limit]).toEqual([429, 'maxSeriesPerService'])
    // Known series still update; the refused batch left nothing behind.
    expect((await call(s.url, 'POST', '/v1/metrics', { body: batch('a', ['m1', 'm2', 'm3']) })).status).toBe(202)
    expect((await call(s.url, 'POST', '/v1/metrics', { body: batch('b', ['m1', 'm2']) })).status).toBe(202)
    const total = await call(s.url, 'POST', '/v1/metrics', { body: batch('c', ['m1']) })
    expect([total.status, total.json.error.limit]).toEqual([429, 'maxSeries'])
    expect(Object.keys((await call(s.url, 'GET', '/v1/metrics/a')).json.instances)).toEqual(['i-1'])
    const stats = (await health(s.url)).stats
    expect([stats.seriesRefusedPerService, stats.seriesRefused, stats.usage.series]).toEqual([1, 1, 5])
  })

  it('held queries per client and in total: 429 rate_limited with Retry-After', async () => {
    const s = await startServer({ maxHeldQueries: 3, maxHeldQueriesPerClient: 2 })
    const reg = await call(s.url, 'PUT', '/v1/services/a/instances/1', { body: instanceBody() })
    const controller = new AbortController()
    const hold = () => call(s.url, 'GET', `/v1/services/a?index=${reg.json.index}&wait=30s`, { signal: controller.signal }).catch(() => undefined)
    const held = [hold(), hold()]
    await untilHeld(s.url, 2)
    const refused = await call(s.url, 'GET', `/v1/services/a?index=${reg.json.index}&wait=30s`)
    expect([refused.status, errorCode(refused), refused.headers['retry-after']]).toEqual([429, 'rate_limited', '1'])
    // A non-blocking read is not a held query.
    expect((await call(s.url, 'GET', '/v1/services/a')).status).toBe(200)
    // The total: a third client address may still hold one, then the total is reached.
    const other = rawRequest(s.port, `GET /v1/services/a?index=${reg.json.index}&wait=2s HTTP/1.1\r\nHost: x\r\n\r\n`, { localAddress: '127.0.0.2' })
    await untilHeld(s.url, 3)
    const total = await rawRequest(s.port, `GET /v1/services/a?index=${reg.json.index}&wait=2s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { localAddress: '127.0.0.3' })
    expect(rawStatus(total)).toBe(429)
    controller.abort()
    await Promise.all(held)
    expect(rawStatus(await other)).toBe(200)
    const stats = (await health(s.url)).stats
    expect([stats.heldQueriesRefusedPerClient, stats.heldQueriesRefused]).toEqual([1, 1])
  })

  it('connections per client and in total: 429 before any parsing, others still served', async () => {
    const s = await startServer({ maxConnections: 6, maxConnectionsPerClient: 3 })
    for (let i = 0; i < 3; i++) await openIdle(s.port, '127.0.0.5')
    await until(async () => (await health(s.url)).stats.usage.connections >= 3, '3 idle connections counted')
    const refused = await rawRequest(s.port, 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n', { localAddress: '127.0.0.5' })
    expect(rawStatus(refused)).toBe(429)
    expect(refused).toMatch(/retry-after: 1/i)
    expect(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4)).error).toMatchObject({ code: 'rate_limited', limit: 'maxConnectionsPerClient' })
    expect((await call(s.url, 'GET', '/v1/health')).status).toBe(200) // another address
    for (let i = 0; i < 3; i++) await openIdle(s.port, '127.0.0.6')
    const total = await rawRequest(s.port, 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n', { localAddress: '127.0.0.7' })
    expect(rawStatus(total)).toBe(429)
  })

  it('slow headers are cut at headersTimeoutMs with 408, counted', async () => {
    const s = await startServer({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 })
    const started = Date.now()
    const answer = await rawRequest(s.port, 'GET /v1/health HTTP/1.1\r\nHo', { timeoutMs: 10_000 })
    expect(rawStatus(answer)).toBe(408)
    expect(Date.now() - started).toBeLessThan(6_000)
    expect((await health(s.url)).stats.slowConnectionsClosed).toBe(1)
  })

  it('a slow body is cut at requestTimeoutMs with 408, and the server keeps serving', async () => {
    const s = await startServer({ headersTimeoutMs: 1_000, requestTimeoutMs: 2_000 })
    const started = Date.now()
    const head = 'PUT /v1/config/slow HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 20\r\n\r\n{"va'
    const answer = await rawRequest(s.port, head, { timeoutMs: 10_000 })
    expect(rawStatus(answer)).toBe(408)
    expect(Date.now() - started).toBeLessThan(7_000)
    expect((await call(s.url, 'GET', '/v1/config/slow')).status).toBe(404)
  })
})

describe('server options and protocol gaps', () => {
  it('a misspelt or out-of-range option rejects with InvalidArgumentError naming it', async () => {
    await expect(createGovernanceServer({ prot: 1 } as never)).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(createGovernanceServer({ prot: 1 } as never)).rejects.toThrow(/server\.prot is not an option/)
    await expect(createGovernanceServer({ maxConnections: 0 })).rejects.toThrow(/maxConnections must be an integer/)
  })

  it('reports limits and usage in GET /v1/health', async () => {
    const s = await startServer({ maxServices: 7 })
    const { stats } = await health(s.url)
    expect(stats.limits.maxServices).toBe(7)
    expect(stats.limits.maxConnections).toBeGreaterThan(0)
    expect(stats.usage).toMatchObject({ heldQueries: 0, services: 0, configKeys: 0 })
  })

  it('answers CONNECT 405, a missing Host 400, non-finite numbers 400, an overflowing chunk size 413, all as error JSON', async () => {
    const s = await startServer()
    const connect = await rawRequest(s.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n')
    expect(rawStatus(connect)).toBe(405)
    expect(connect).toMatch(/"code":"method_not_allowed"/)
    const noHost = await rawRequest(s.port, 'GET /v1/health HTTP/1.1\r\nConnection: close\r\n\r\n')
    expect(rawStatus(noHost)).toBe(400)
    expect(noHost).toMatch(/"code":"bad_request"/)
    const huge = await call(s.url, 'PUT', '/v1/config/n', { body: '{"value":1e999}', headers: { 'content-type': 'application/json' } })
    expect([huge.status, errorCode(huge)]).toEqual([400, 'bad_request'])
    expect((await call(s.url, 'GET', '/v1/config/n')).status).toBe(404)
    const chunk = await rawRequest(s.port, 'PUT /v1/config/a HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n1ffffffffffffffff\r\nabc')
    expect(rawStatus(chunk)).toBe(413)
    expect(chunk).toMatch(/"code":"payload_too_large"/)
  })

  it('refuses a counter that would overflow to Infinity, and totals saturate instead of becoming null', async () => {
    const s = await startServer()
    const big = (instance: string) => ({ batchId: `c${++seq}`, service: 'm', instance, timestamp: Date.now(), points: [{ name: 'c', kind: 'counter', labels: {}, value: Number.MAX_VALUE }] })
    expect((await call(s.url, 'POST', '/v1/metrics', { body: big('i1') })).status).toBe(202)
    const over = await call(s.url, 'POST', '/v1/metrics', { body: big('i1') })
    expect([over.status, errorCode(over)]).toEqual([400, 'bad_request'])
    expect((await call(s.url, 'POST', '/v1/metrics', { body: big('i2') })).status).toBe(202)
    const view = await call(s.url, 'GET', '/v1/metrics/m')
    expect(view.json.totals[0].value).toBe(Number.MAX_VALUE)
    expect(view.json.instances.i1.points[0].value).toBe(Number.MAX_VALUE)
  })

  it('drops metrics past retention on a timer, without a read', async () => {
    const s = await startServer({ metricsRetentionMs: 1_000 })
    expect((await call(s.url, 'POST', '/v1/metrics', { body: batch('r', ['m1', 'm2']) })).status).toBe(202)
    expect((await health(s.url)).stats.usage.series).toBe(2)
    await until(async () => (await health(s.url)).stats.usage.series === 0, 'retention to drop the series', 5_000)
    expect((await health(s.url)).stats.metricsInstancesExpired).toBe(1)
  })
})
