/** Metric history: rings per series, rates/quantiles/values, the caps, and the endpoint. */
import { describe, expect, it, vi } from 'vitest'
import { MetricHistory } from '../../src/server/metric-history.js'
import { quantile } from '../../src/server/metric-history-query.js'
import type { MetricBatch, MetricPoint } from '../../src/types.js'
import { call, startServer } from './helpers.js'

const quiet = { debug() {}, info() {}, warn() {}, error() {} }

function history(overrides: Partial<ConstructorParameters<typeof MetricHistory>[0]> = {}) {
  const clock = { now: 100_000 }
  const h = new MetricHistory({ resolutionMs: 1_000, durationMs: 5_000, maxSeries: 100, maxBytes: 1 << 20, logger: quiet, now: () => clock.now, ...overrides })
  return { h, clock }
}

const batch = (instance: string, points: MetricPoint[]): MetricBatch => ({ batchId: `${Math.random()}`, service: 'orders', instance, timestamp: 0, points })
const counter = (value: number, labels = {}): MetricPoint => ({ name: 'requests_total', kind: 'counter', labels, value })
const gauge = (value: number): MetricPoint => ({ name: 'queue_depth', kind: 'gauge', labels: {}, value })
const histogram = (counts: number[]): Extract<MetricPoint, { kind: 'histogram' }> => ({ name: 'latency_ms', kind: 'histogram', labels: {}, buckets: [10, 20, 40], counts, sum: 0, count: counts.reduce((a, b) => a + b, 0) })

describe('MetricHistory', () => {
  it('turns counter deltas into per-second rates summed over instances, with zeros between pushes', () => {
    const { h, clock } = history()
    h.record(batch('a', [counter(5)]))
    h.record(batch('b', [counter(3)]))
    clock.now += 2_000
    h.record(batch('a', [counter(4)]))
    const view = h.query('orders', 0, clock.now)!
    expect(view.times).toEqual([98_000, 99_000, 100_000, 101_000, 102_000])
    const series = view.series.find((s) => s.name === 'requests_total')!
    expect(series.kind === 'counter' && series.rate).toEqual([null, null, 8, 0, 4])
    expect(series.instances).toBe(2)
  })

  it('keeps gauges as values (summed over instances) and leaves slots without a value empty', () => {
    const { h, clock } = history()
    h.record(batch('a', [gauge(2)]))
    h.record(batch('a', [gauge(7)])) // the same slot: the last value wins
    h.record(batch('b', [gauge(1)]))
    clock.now += 2_000
    h.record(batch('a', [gauge(4)]))
    const series = h.query('orders', 0, clock.now)!.series.find((s) => s.name === 'queue_depth')!
    expect(series.kind === 'gauge' && series.values.slice(-3)).toEqual([8, null, 4])
  })

  it('gives histograms rates and interpolated quantiles', () => {
    const { h } = history()
    h.record(batch('a', [histogram([0, 10, 0, 0])]))
    h.record(batch('b', [histogram([10, 0, 0, 0])]))
    const series = h.query('orders', 0, Date.now() * 2)!.series.find((s) => s.name === 'latency_ms')!
    if (series.kind !== 'histogram') throw new Error('not a histogram')
    expect(series.rate.at(-1)).toBe(20)
    expect(series.quantiles['p50']!.at(-1)).toBeCloseTo(10, 6)
    expect(series.quantiles['p90']!.at(-1)).toBeCloseTo(18, 6)
  })

  it('forgets what has left the window, and drops series whose newest data is older than it', () => {
    const { h, clock } = history()
    h.record(batch('a', [counter(5)]))
    clock.now += 3_000
    h.record(batch('b', [counter(1)]))
    clock.now += 3_000 // a's only slot is now 6 s old, past the 5 s window
    h.record(batch('b', [counter(1)]))
    expect(h.stats.series).toBe(1)
    const series = h.query('orders', 0, clock.now)!.series[0]!
    expect(series.kind === 'counter' && series.rate).toEqual([null, 1, 0, 0, 1]) // b's slots 103 and 106 of 102-106
  })

  it('refuses new series past maxSeries or maxBytes, with a warning, and counts them', () => {
    const warn = vi.fn()
    const { h } = history({ maxSeries: 2, logger: { ...quiet, warn } })
    h.record(batch('a', [counter(1, { r: '1' }), counter(1, { r: '2' }), counter(1, { r: '3' }), counter(1, { r: '4' })]))
    expect(h.stats).toMatchObject({ series: 2, dropped: 2 })
    expect(warn).toHaveBeenCalledTimes(1) // at most one a minute
    expect(warn.mock.calls[0]![0]).toMatch(/metric history is full/)
    const small = history({ maxBytes: 100 })
    small.h.record(batch('a', [counter(1)]))
    expect(small.h.stats).toMatchObject({ series: 0, dropped: 1 })
  })

  it('starts a ring again when a series changes kind or buckets', () => {
    const { h } = history()
    h.record(batch('a', [histogram([1, 0, 0, 0])]))
    h.record(batch('a', [{ ...histogram([1, 0, 0]), buckets: [10, 20] }]))
    expect(h.stats.series).toBe(1)
  })

  it('quantile() answers the highest finite bound for the +Inf bucket and null when empty', () => {
    expect(quantile({ buckets: [1, 2], counts: [0, 0, 5], sum: 0, count: 5 }, 0.5)).toBe(2)
    expect(quantile({ buckets: [1, 2], counts: [0, 0, 0], sum: 0, count: 0 }, 0.5)).toBeNull()
  })
})

describe('GET /v1/metrics/{service}/history', () => {
  it('serves the pushed series and checks its parameters', async () => {
    const server = await startServer({ metricHistory: { resolutionMs: 1_000, durationMs: 60_000 } })
    const pushed = await call(server.url, 'POST', '/v1/metrics', { body: { batchId: 'b1', service: 'orders', instance: 'i1', timestamp: 1, points: [counter(10)] } })
    expect(pushed.status).toBe(202)
    const res = await call(server.url, 'GET', '/v1/metrics/orders/history?from=-60000')
    expect(res.status).toBe(200)
    expect(res.json.resolutionMs).toBe(1_000)
    expect(res.json.times.length).toBe(res.json.series[0].rate.length)
    expect(res.json.series[0]).toMatchObject({ name: 'requests_total', kind: 'counter' })
    expect(res.json.series[0].rate.at(-1)).toBe(10)
    expect((await call(server.url, 'GET', '/v1/metrics/nobody/history')).status).toBe(404)
    expect((await call(server.url, 'GET', '/v1/metrics/orders/history?from=abc')).json.error.code).toBe('bad_request')
    expect((await call(server.url, 'GET', '/v1/metrics/orders/history?from=20&to=10')).status).toBe(400)
  })

  it('rejects bad history options by name', async () => {
    await expect(startServer({ metricHistory: { resolutionMs: 10 } })).rejects.toThrow(/metricHistory.resolutionMs/)
    await expect(startServer({ metricHistory: { resolutionMs: 1_000, durationMs: 500 } })).rejects.toThrow(/metricHistory.durationMs/)
  })
})
