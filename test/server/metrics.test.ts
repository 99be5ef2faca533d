import { describe, expect, it } from 'vitest'
import { addHistograms, coarsen } from '../../src/server/histogram.js'
import { RecentIds } from '../../src/server/batch-ids.js'
import { call, errorCode, startServer } from './helpers.js'

let seq = 0
const batch = (points: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  batchId: `b-${++seq}`,
  service: 'orders',
  instance: 'o-1',
  timestamp: 1_764_000_000_000 + seq,
  points,
  ...extra,
})
const counter = (value: number, labels: Record<string, string> = { route: '/a' }) => ({ name: 'http_requests_total', kind: 'counter', labels, value })
const gauge = (value: number) => ({ name: 'queue_depth', kind: 'gauge', labels: {}, value })
const histogram = (counts: number[], buckets = [5, 10, 25], sum = 10) => ({
  name: 'latency_ms',
  kind: 'histogram',
  labels: { route: '/a' },
  buckets,
  counts,
  sum,
  count: counts.reduce((a, b) => a + b, 0),
})

type Series = { name: string; kind: string; labels: Record<string, string>; value?: number; counts?: number[]; sum?: number; count?: number; buckets?: number[]; help?: string }
const find = (points: Series[], name: string, labels?: Record<string, string>): Series | undefined =>
  points.find((p) => p.name === name && (labels === undefined || JSON.stringify(p.labels) === JSON.stringify(labels)))

describe('metrics endpoints', () => {
  it('answers 202 with the number of points, and 404 for a service with no batch', async () => {
    const s = await startServer()
    expect((await call(s.url, 'GET', '/v1/metrics/orders')).status).toBe(404)
    const r = await call(s.url, 'POST', '/v1/metrics', { body: batch([counter(1), gauge(2), histogram([1, 0, 0, 0])]) })
    expect(r.status).toBe(202)
    expect(r.json).toEqual({ accepted: 3 })
    expect((await call(s.url, 'GET', '/v1/metrics/orders')).status).toBe(200)
  })

  it('sums counter deltas, keeps the last gauge, adds histograms per bucket', async () => {
    const s = await startServer()
    await call(s.url, 'POST', '/v1/metrics', { body: batch([counter(2), gauge(7), histogram([1, 2, 0, 0], [5, 10, 25], 12)]) })
    const last = batch([counter(3), gauge(4), histogram([0, 1, 1, 1], [5, 10, 25], 100)], { timestamp: 1_800_000_000_000 })
    await call(s.url, 'POST', '/v1/metrics', { body: last })
    const r = await call(s.url, 'GET', '/v1/metrics/orders')
    expect(r.json.service).toBe('orders')
    expect(r.json.updatedAt).toBe(1_800_000_000_000)
    const mine = r.json.instances['o-1']
    expect(mine.updatedAt).toBe(1_800_000_000_000)
    expect(find(mine.points, 'http_requests_total')?.value).toBe(5)
    expect(find(mine.points, 'queue_depth')?.value).toBe(4)
    expect(find(mine.points, 'latency_ms')).toMatchObject({ buckets: [5, 10, 25], counts: [1, 3, 1, 1], sum: 112, count: 6 })
  })

  it('keeps series apart by labels and replaces a histogram whose buckets change', async () => {
    const s = await startServer()
    await call(s.url, 'POST', '/v1/metrics', { body: batch([counter(1, { route: '/a' }), counter(10, { route: '/b' }), histogram([1, 1, 1, 1])]) })
    await call(s.url, 'POST', '/v1/metrics', { body: batch([counter(1, { route: '/a' }), histogram([4, 0], [100], 7)]) })
    const points = (await call(s.url, 'GET', '/v1/metrics/orders')).json.instances['o-1'].points
    expect(find(points, 'http_requests_total', { route: '/a' })?.value).toBe(2)
    expect(find(points, 'http_requests_total', { route: '/b' })?.value).toBe(10)
    expect(find(points, 'latency_ms')).toMatchObject({ buckets: [100], counts: [4, 0], count: 4, sum: 7 })
  })

  it('ignores a repeated batchId (200, nothing applied again) but not the same id from another instance', async () => {
    const s = await startServer()
    const b = batch([counter(5)])
    expect((await call(s.url, 'POST', '/v1/metrics', { body: b })).status).toBe(202)
    const again = await call(s.url, 'POST', '/v1/metrics', { body: b })
    expect(again.status).toBe(200)
    expect(again.json.duplicate).toBe(true)
    expect((await call(s.url, 'POST', '/v1/metrics', { body: { ...b, instance: 'o-2' } })).status).toBe(202)
    const r = await call(s.url, 'GET', '/v1/metrics/orders')
    expect(find(r.json.instances['o-1'].points, 'http_requests_total')?.value).toBe(5)
    expect(find(r.json.totals, 'http_requests_total')?.value).toBe(10)
  })

  it('totals sum counters, gauges and histograms over instances, coarsening differing buckets', async () => {
    const s = await startServer()
    await call(s.url, 'POST', '/v1/metrics', { body: batch([counter(2), gauge(3), histogram([1, 1, 1, 1], [5, 10, 25], 40)], { instance: 'a' }) })
    await call(s.url, 'POST', '/v1/metrics', { body: batch([counter(5), gauge(4), histogram([2, 2, 2], [10, 50], 300)], { instance: 'b' }) })
    const r = await call(s.url, 'GET', '/v1/metrics/orders')
    expect(Object.keys(r.json.instances)).toEqual(['a', 'b'])
    expect(find(r.json.totals, 'http_requests_total')?.value).toBe(7)
    expect(find(r.json.totals, 'queue_depth')?.value).toBe(7)
    // Shared bound 10: a's (<=5, 5-10] and b's <=10 make 4; everything else is +Inf.
    expect(find(r.json.totals, 'latency_ms')).toMatchObject({ buckets: [10], counts: [4, 6], count: 10, sum: 340 })
  })

  it('keeps help text', async () => {
    const s = await startServer()
    await call(s.url, 'POST', '/v1/metrics', { body: batch([{ ...counter(1), help: 'Requests served.' }]) })
    await call(s.url, 'POST', '/v1/metrics', { body: batch([counter(1)]) })
    const points = (await call(s.url, 'GET', '/v1/metrics/orders')).json.instances['o-1'].points
    expect(find(points, 'http_requests_total')?.help).toBe('Requests served.')
  })

  it.each([
    ['no batchId', { batchId: undefined }],
    ['empty batchId', { batchId: '' }],
    ['batchId too long', { batchId: 'b'.repeat(129) }],
    ['bad service', { service: '-x' }],
    ['bad instance', { instance: '' }],
    ['timestamp as string', { timestamp: '1' }],
    ['points not an array', { points: {} }],
    ['too many points', { points: Array.from({ length: 10_001 }, () => gauge(1)) }],
    ['negative counter', { points: [counter(-1)] }],
    ['gauge value as string', { points: [{ ...gauge(1), value: '1' }] }],
    ['bad metric name', { points: [{ ...gauge(1), name: '1abc' }] }],
    ['bad label name', { points: [{ ...gauge(1), labels: { 'a-b': 'x' } }] }],
    ['reserved label name', { points: [{ ...gauge(1), labels: { __name__: 'x' } }] }],
    ['label value not a string', { points: [{ ...gauge(1), labels: { a: 1 } }] }],
    ['unknown kind', { points: [{ ...gauge(1), kind: 'summary' }] }],
    ['descending buckets', { points: [histogram([1, 1, 1, 1], [5, 3, 25])] }],
    ['counts of the wrong length', { points: [{ ...histogram([1, 1, 1, 1]), counts: [1, 1, 1], count: 3 }] }],
    ['count not the sum', { points: [{ ...histogram([1, 1, 1, 1]), count: 5 }] }],
    ['negative count', { points: [histogram([1, -1, 1, 1])] }],
    ['65 buckets', { points: [histogram(Array.from({ length: 66 }, () => 0), Array.from({ length: 65 }, (_, i) => i))] }],
    ['help too long', { points: [{ ...gauge(1), help: 'h'.repeat(1025) }] }],
    ['one bad point among good ones', { points: [counter(1), gauge(2), { ...gauge(1), value: null }] }],
  ])('rejects a batch with %s (400) and applies nothing', async (_name, change) => {
    const s = await startServer()
    const body = { ...batch([counter(1)]), ...change }
    const r = await call(s.url, 'POST', '/v1/metrics', { body })
    expect(r.status).toBe(400)
    expect(errorCode(r)).toBe('bad_request')
    expect((await call(s.url, 'GET', '/v1/metrics/orders')).status).toBe(404)
  })
})

it('rejects a non-finite value (1e999 parses as Infinity)', async () => {
  const s = await startServer()
  const body = JSON.stringify(batch([gauge(1)])).replace('"value":1', '"value":1e999')
  const r = await call(s.url, 'POST', '/v1/metrics', { body, headers: { 'content-type': 'application/json' } })
  expect(r.status).toBe(400)
  expect((await call(s.url, 'GET', '/v1/metrics/orders')).status).toBe(404)
})

describe('histogram arithmetic', () => {
  it('coarsens exactly onto a subset of bounds', () => {
    expect(coarsen({ buckets: [1, 2, 5, 10], counts: [1, 2, 3, 4, 5], sum: 0, count: 15 }, [2, 10])).toEqual({
      buckets: [2, 10],
      counts: [3, 7, 5],
      sum: 0,
      count: 15,
    })
    expect(coarsen({ buckets: [1, 2], counts: [1, 2, 3], sum: 1, count: 6 }, []).counts).toEqual([6])
  })

  it('adds same-layout histograms per bucket and disjoint layouts into one +Inf bucket', () => {
    expect(addHistograms({ buckets: [1], counts: [1, 2], sum: 1, count: 3 }, { buckets: [1], counts: [3, 4], sum: 2, count: 7 })).toEqual({
      buckets: [1],
      counts: [4, 6],
      sum: 3,
      count: 10,
    })
    expect(addHistograms({ buckets: [1], counts: [1, 2], sum: 1, count: 3 }, { buckets: [2], counts: [3, 4], sum: 2, count: 7 }).counts).toEqual([10])
  })
})

describe('RecentIds', () => {
  it('remembers at least minCount ids or minAge, and at most maxCount', () => {
    let now = 0
    const ids = new RecentIds({ minAgeMs: 1_000, minCount: 3, maxCount: 5, now: () => now })
    for (const id of ['a', 'b', 'c', 'd']) ids.add(id)
    expect(['a', 'b', 'c', 'd'].every((id) => ids.has(id))).toBe(true) // young: kept past minCount
    now = 2_000
    ids.add('e')
    expect(['a', 'b'].some((id) => ids.has(id))).toBe(false) // old and beyond the last 3
    expect(['c', 'd', 'e'].every((id) => ids.has(id))).toBe(true)
  })

  it('forgets the oldest young ids past maxCount', () => {
    const ids = new RecentIds({ minAgeMs: 60_000, minCount: 3, maxCount: 5, now: () => 0 })
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) ids.add(id)
    expect(ids.has('a')).toBe(false)
    expect(['b', 'c', 'd', 'e', 'f'].every((id) => ids.has(id))).toBe(true)
  })
})
