import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  AuthError,
  InvalidArgumentError,
  RequestRejectedError,
  ServerError,
  ServerUnavailableError,
  TimeoutError,
} from '../../src/errors.js'
import { pushgatewaySink, type PushgatewaySinkOptions } from '../../src/metrics/index.js'
import type { MetricBatch, MetricPoint } from '../../src/types.js'
import { freePort } from '../helpers/pushgateway.js'
import { parseExposition, sampleValue } from '../helpers/exposition-parser.js'

interface Received {
  method: string
  url: string
  contentType: string | undefined
  body: string
}

let server: Server
let base: string
let received: Received[]
let answer: (req: IncomingMessage, res: ServerResponse) => void

beforeEach(async () => {
  received = []
  answer = (_req, res) => res.writeHead(202).end()
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body })
      answer(req, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterEach(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

let sequence = 0
function batch(points: MetricPoint[], overrides: Partial<MetricBatch> = {}): MetricBatch {
  sequence += 1
  return { batchId: `b-${sequence}`, service: 'orders', instance: 'orders-1', timestamp: 1, points, ...overrides }
}
const ctx = { timeoutMs: 2_000 }

describe('pushgatewaySink', () => {
  it('PUTs the running totals of the group in the text format', async () => {
    const sink = pushgatewaySink({ url: `${base}/prefix/` })
    expect(sink.name).toBe('pushgateway')
    await sink.export(batch([{ name: 'c_total', kind: 'counter', labels: { a: '1' }, value: 2, help: 'C.' }]), ctx)
    await sink.export(
      batch([
        { name: 'c_total', kind: 'counter', labels: { a: '1' }, value: 3 },
        { name: 'g', kind: 'gauge', labels: {}, value: 5 },
        { name: 'h_ms', kind: 'histogram', labels: {}, buckets: [1, 2], counts: [1, 0, 2], sum: 9, count: 3 },
      ]),
      ctx,
    )
    await sink.export(batch([{ name: 'g', kind: 'gauge', labels: {}, value: 4 }, { name: 'h_ms', kind: 'histogram', labels: {}, buckets: [1, 2], counts: [0, 1, 0], sum: 1.5, count: 1 }]), ctx)
    const last = received.at(-1) as Received
    expect(last.method).toBe('PUT')
    expect(last.url).toBe('/prefix/metrics/job/orders/instance/orders-1')
    expect(last.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
    const f = parseExposition(last.body)
    expect(sampleValue(f, 'c_total', { a: '1' })).toBe(5)
    expect(f.get('c_total')?.help).toBe('C.')
    expect(sampleValue(f, 'g')).toBe(4)
    expect(sampleValue(f, 'h_ms_bucket', { le: '1' })).toBe(1)
    expect(sampleValue(f, 'h_ms_bucket', { le: '2' })).toBe(2)
    expect(sampleValue(f, 'h_ms_count')).toBe(4)
    expect(sampleValue(f, 'h_ms_sum')).toBe(10.5)
    await sink.close?.()
  })

  it('applies a retried batch once', async () => {
    let first = true
    answer = (_req, res) => {
      if (first) {
        first = false
        res.writeHead(503, { 'retry-after': '2' }).end('busy')
      } else res.writeHead(200).end()
    }
    const sink = pushgatewaySink({ url: base })
    const b = batch([{ name: 'c_total', kind: 'counter', labels: {}, value: 4 }])
    const error = await sink.export(b, ctx).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ServerUnavailableError)
    expect((error as ServerUnavailableError).details).toMatchObject({ retryAfterMs: 2_000 })
    await sink.export(b, ctx)
    expect(sampleValue(parseExposition((received.at(-1) as Received).body), 'c_total')).toBe(4)
    await sink.close?.()
  })

  it('names the group from options, base64-encoding values with a slash', async () => {
    const sink = pushgatewaySink({ url: base, job: 'batch/jobs', grouping: { zone: 'eu-1', path: '' }, name: 'pgw' })
    expect(sink.name).toBe('pgw')
    await sink.export(batch([{ name: 'g', kind: 'gauge', labels: {}, value: 1 }]), ctx)
    expect(received[0]?.url).toBe(`/metrics/job@base64/${Buffer.from('batch/jobs').toString('base64url')}/zone/eu-1/path@base64/=`)
    await sink.close?.()
  })

  it('replaces a histogram series whose buckets changed', async () => {
    const sink = pushgatewaySink({ url: base })
    await sink.export(batch([{ name: 'h', kind: 'histogram', labels: {}, buckets: [1], counts: [1, 1], sum: 3, count: 2 }]), ctx)
    await sink.export(batch([{ name: 'h', kind: 'histogram', labels: {}, buckets: [5], counts: [1, 0], sum: 2, count: 1 }]), ctx)
    const f = parseExposition((received.at(-1) as Received).body)
    expect(sampleValue(f, 'h_bucket', { le: '5' })).toBe(1)
    expect(sampleValue(f, 'h_count')).toBe(1)
    await sink.close?.()
  })

  const statuses: [number, unknown][] = [
    [400, RequestRejectedError],
    [401, AuthError],
    [403, AuthError],
    [500, ServerError],
    [429, ServerUnavailableError],
    [502, ServerUnavailableError],
  ]
  for (const [status, kind] of statuses) {
    it(`maps ${status} to ${(kind as { name: string }).name}`, async () => {
      answer = (_req, res) => res.writeHead(status).end('no')
      const sink = pushgatewaySink({ url: base })
      const error = await sink.export(batch([{ name: 'g', kind: 'gauge', labels: {}, value: 1 }]), ctx).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(kind as typeof Error)
      expect((error as Error).message).toContain(`answered ${status}: no`)
      await sink.close?.()
    })
  }

  it('reports a refused connection as unavailable, a silent server as a timeout, and honours the signal', async () => {
    const closed = pushgatewaySink({ url: `http://127.0.0.1:${await freePort()}` })
    await expect(closed.export(batch([{ name: 'g', kind: 'gauge', labels: {}, value: 1 }]), ctx)).rejects.toBeInstanceOf(ServerUnavailableError)
    answer = () => undefined // never answers
    const sink = pushgatewaySink({ url: base })
    await expect(sink.export(batch([{ name: 'g', kind: 'gauge', labels: {}, value: 1 }]), { timeoutMs: 100 })).rejects.toBeInstanceOf(TimeoutError)
    const controller = new AbortController()
    const pending = sink.export(batch([{ name: 'g', kind: 'gauge', labels: {}, value: 1 }]), { timeoutMs: 5_000, signal: controller.signal })
    controller.abort(new Error('stop'))
    await expect(pending).rejects.toThrow('stop')
    await sink.close?.()
  })

  it('validates its options eagerly', () => {
    const bad: Record<string, unknown>[] = [
      { url: 'ftp://x' },
      { url: 'not a url' },
      { url: 'http://user:pw@host' },
      { url: 'http://h', job: '' },
      { url: 'http://h', grouping: { 'bad-name': 'x' } },
      { url: 'http://h', grouping: { job: 'x' } },
      { url: 'http://h', timeoutMs: 0 },
    ]
    for (const options of bad) expect(() => pushgatewaySink(options as unknown as PushgatewaySinkOptions)).toThrow(InvalidArgumentError)
  })
})
