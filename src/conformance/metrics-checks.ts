/** Protocol section 7: metric batches and the latest values per service. */
import type { ConformanceCheck } from './check.js'
import { expectEqual, expectError, expectJson, expectStatus, fail } from './expect.js'
import { probe, uniqueName, type ConformanceContext } from './http.js'

type Point = Record<string, unknown>
const counter = (value: number, labels: Record<string, string> = { route: '/a' }): Point => ({ name: 'http_requests_total', kind: 'counter', labels, value })
const gauge = (value: number): Point => ({ name: 'queue_depth', kind: 'gauge', labels: {}, value })
const histogram = (counts: number[], sum: number): Point => ({
  name: 'latency_ms',
  kind: 'histogram',
  labels: { route: '/a' },
  buckets: [5, 10, 25],
  counts,
  sum,
  count: counts.reduce((a, b) => a + b, 0),
})

function batch(service: string, instance: string, points: Point[], timestamp = Date.now()): Record<string, unknown> {
  return { batchId: uniqueName('b'), service, instance, timestamp, points }
}

async function latest(ctx: ConformanceContext, service: string): Promise<Record<string, unknown>> {
  return expectJson(await probe(ctx, 'GET', `/v1/metrics/${service}`), 200)
}

function series(points: unknown, name: string, labels?: Record<string, string>): Point {
  if (!Array.isArray(points)) fail(`points is not an array: ${JSON.stringify(points)}`)
  const found = (points as Point[]).find((p) => p['name'] === name && (labels === undefined || JSON.stringify(p['labels']) === JSON.stringify(labels)))
  if (!found) fail(`no series ${name}${labels ? JSON.stringify(labels) : ''} in ${JSON.stringify(points).slice(0, 300)}`)
  return found
}

function instancePoints(view: Record<string, unknown>, instance: string): unknown {
  const instances = view['instances'] as Record<string, { points?: unknown }> | undefined
  const entry = instances?.[instance]
  if (!entry) fail(`no instance ${instance} in the metrics answer`)
  return entry.points
}

export const metricsChecks: readonly ConformanceCheck[] = [
  {
    name: 'metrics: a batch answers 202 with the number of points; the service then answers 200',
    async run(ctx) {
      const service = uniqueName('svc')
      expectError(await probe(ctx, 'GET', `/v1/metrics/${service}`), 404, 'not_found')
      const timestamp = 1_764_000_010_000
      const reply = await probe(ctx, 'POST', '/v1/metrics', { body: batch(service, 'i-1', [counter(1), gauge(2), histogram([1, 0, 0, 0], 3)], timestamp) })
      expectEqual(expectJson(reply, 202), { accepted: 3 }, 'answer')
      const view = await latest(ctx, service)
      expectEqual([view['service'], view['updatedAt']], [service, timestamp], 'service and updatedAt')
      expectEqual((view['instances'] as Record<string, { updatedAt?: unknown }>)['i-1']?.updatedAt, timestamp, 'instance updatedAt')
      if (!Array.isArray(view['totals'])) fail('totals is not an array')
    },
  },
  {
    name: 'metrics: counters add up, gauges keep the last value, histograms add per bucket',
    async run(ctx) {
      const service = uniqueName('svc')
      await probe(ctx, 'POST', '/v1/metrics', { body: batch(service, 'i-1', [counter(2), counter(1, { route: '/b' }), gauge(7), histogram([1, 2, 0, 0], 12)]) })
      await probe(ctx, 'POST', '/v1/metrics', { body: batch(service, 'i-1', [counter(3), gauge(4), histogram([0, 1, 1, 1], 100)]) })
      const points = instancePoints(await latest(ctx, service), 'i-1')
      expectEqual(series(points, 'http_requests_total', { route: '/a' })['value'], 5, 'counter /a')
      expectEqual(series(points, 'http_requests_total', { route: '/b' })['value'], 1, 'counter /b')
      expectEqual(series(points, 'queue_depth')['value'], 4, 'gauge')
      const h = series(points, 'latency_ms')
      expectEqual([h['buckets'], h['counts'], h['sum'], h['count']], [[5, 10, 25], [1, 3, 1, 1], 112, 6], 'histogram buckets, counts, sum, count')
    },
  },
  {
    name: 'metrics: a repeated batchId answers 200 and is not applied again',
    async run(ctx) {
      const service = uniqueName('svc')
      const body = batch(service, 'i-1', [counter(5)])
      expectStatus(await probe(ctx, 'POST', '/v1/metrics', { body }), 202)
      expectStatus(await probe(ctx, 'POST', '/v1/metrics', { body }), 200)
      expectEqual(series(instancePoints(await latest(ctx, service), 'i-1'), 'http_requests_total')['value'], 5, 'counter after a retried batch')
    },
  },
  {
    name: 'metrics: totals sum each series over instances (gauges too)',
    async run(ctx) {
      const service = uniqueName('svc')
      await probe(ctx, 'POST', '/v1/metrics', { body: batch(service, 'a', [counter(2), gauge(3), histogram([1, 1, 0, 0], 8)]) })
      await probe(ctx, 'POST', '/v1/metrics', { body: batch(service, 'b', [counter(5), gauge(4), histogram([0, 0, 2, 1], 90)]) })
      const view = await latest(ctx, service)
      expectEqual(Object.keys(view['instances'] as object).sort(), ['a', 'b'], 'instances')
      expectEqual(series(view['totals'], 'http_requests_total')['value'], 7, 'counter total')
      expectEqual(series(view['totals'], 'queue_depth')['value'], 7, 'gauge total')
      const h = series(view['totals'], 'latency_ms')
      expectEqual([h['counts'], h['sum'], h['count']], [[1, 1, 2, 1], 98, 5], 'histogram total')
    },
  },
  {
    name: 'metrics: an invalid point rejects the whole batch with 400',
    async run(ctx) {
      const service = uniqueName('svc')
      const bad: Point[][] = [
        [counter(1), counter(-1)],
        [counter(1), { ...gauge(1), name: '1bad' }],
        [counter(1), { ...gauge(1), labels: { __reserved: 'x' } }],
        [counter(1), { ...gauge(1), kind: 'summary' }],
        [counter(1), { ...histogram([1, 1, 1, 1], 1), count: 5 }],
        [counter(1), { ...histogram([1, 1, 1], 1), count: 3 }],
        [counter(1), { ...histogram([1, 1, 1, 1], 1), buckets: [10, 5, 25] }],
      ]
      for (const points of bad) expectError(await probe(ctx, 'POST', '/v1/metrics', { body: batch(service, 'i-1', points) }), 400, 'bad_request')
      for (const body of [{ ...batch(service, 'i-1', []), batchId: '' }, { ...batch(service, 'i-1', []), service: '-x' }, { ...batch(service, 'i-1', []), points: {} }]) {
        expectError(await probe(ctx, 'POST', '/v1/metrics', { body }), 400, 'bad_request')
      }
      expectError(await probe(ctx, 'GET', `/v1/metrics/${service}`), 404, 'not_found')
    },
  },
]
