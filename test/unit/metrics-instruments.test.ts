import { getHeapSpaceStatistics } from 'node:v8'
import { describe, expect, it, vi } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import type { Logger } from '../../src/internal/logger.js'
import { createMetrics, OVERFLOW_LABEL, type Metrics } from '../../src/metrics/index.js'
import { bucketIndex } from '../../src/metrics/instruments.js'
import { parseExposition, sampleValue } from '../helpers/exposition-parser.js'

function spyLogger() {
  return { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() } satisfies Logger
}

/** A Metrics without sinks or built-ins: recording and render() only. */
function metrics(options: Parameters<typeof createMetrics>[0] = {}, logger: Logger = spyLogger()): Metrics {
  return createMetrics(
    { processMetrics: false, upstreamMetrics: false, ...options },
    { emit: () => undefined, logger, clock: { now: () => 0 }, service: 'orders', instanceId: 'orders-1', sinks: [] },
  )
}

function values(m: Metrics) {
  return parseExposition(m.render())
}

describe('counter', () => {
  it('adds increments per label set; inc defaults to 1; add is an alias', () => {
    const m = metrics()
    const c = m.counter('http_requests_total', { help: 'requests' })
    c.inc()
    c.inc(2)
    c.inc(1, { route: '/a', status: '200' })
    c.add(4, { route: '/a', status: '200' })
    const f = values(m)
    expect(sampleValue(f, 'http_requests_total')).toBe(3)
    expect(sampleValue(f, 'http_requests_total', { route: '/a', status: '200' })).toBe(5)
    expect(f.get('http_requests_total')?.help).toBe('requests')
  })

  it('treats key order and number values as the same label set', () => {
    const m = metrics()
    const c = m.counter('c_total')
    c.inc(1, { route: '/a', status: 200 })
    c.inc(1, { status: '200', route: '/a' })
    c.inc(1, { status: 200, route: '/a' })
    expect(sampleValue(values(m), 'c_total', { route: '/a', status: '200' })).toBe(3)
    expect(values(m).get('c_total')?.samples).toHaveLength(1)
  })

  it('drops negative, NaN, infinite and non-number increments, warning once', () => {
    const logger = spyLogger()
    const m = metrics({}, logger)
    const c = m.counter('c_total')
    c.inc(-1)
    c.inc(Number.NaN)
    c.inc(Infinity)
    c.inc('3' as unknown as number)
    c.bind().inc(-5)
    c.inc(1)
    expect(sampleValue(values(m), 'c_total')).toBe(1)
    expect(logger.warn).toHaveBeenCalledTimes(1)
    expect(String(logger.warn.mock.calls[0]?.[0])).toMatch(/c_total.*-1/)
  })

  it('bind() returns a handle on the same series', () => {
    const m = metrics()
    const c = m.counter('c_total')
    const h = c.bind({ route: '/b' })
    h.inc()
    h.add(2)
    c.inc(1, { route: '/b' })
    expect(sampleValue(values(m), 'c_total', { route: '/b' })).toBe(4)
  })
})

describe('gauge', () => {
  it('keeps the last value; inc and dec move it', () => {
    const m = metrics()
    const g = m.gauge('queue_depth')
    g.set(3)
    g.set(7)
    g.inc()
    g.dec(3)
    g.set(2, { queue: 'a' })
    const h = g.bind({ queue: 'b' })
    h.set(10)
    h.dec()
    h.inc(0.5)
    g.set(Number.NaN)
    const f = values(m)
    expect(sampleValue(f, 'queue_depth')).toBe(5)
    expect(sampleValue(f, 'queue_depth', { queue: 'a' })).toBe(2)
    expect(sampleValue(f, 'queue_depth', { queue: 'b' })).toBe(9.5)
  })
})

describe('histogram', () => {
  it('counts into fixed buckets with an inclusive upper bound, plus count and sum', () => {
    const m = metrics()
    const h = m.histogram('latency_ms', { buckets: [5, 10, 25] })
    for (const v of [1, 5, 5.01, 10, 30, 1000]) h.observe(v)
    h.bind({ route: '/a' }).observe(7)
    const f = values(m)
    expect(sampleValue(f, 'latency_ms_bucket', { le: '5' })).toBe(2)
    expect(sampleValue(f, 'latency_ms_bucket', { le: '10' })).toBe(4)
    expect(sampleValue(f, 'latency_ms_bucket', { le: '25' })).toBe(4)
    expect(sampleValue(f, 'latency_ms_bucket', { le: '+Inf' })).toBe(6)
    expect(sampleValue(f, 'latency_ms_count')).toBe(6)
    expect(sampleValue(f, 'latency_ms_sum')).toBeCloseTo(1051.01)
    expect(sampleValue(f, 'latency_ms_bucket', { route: '/a', le: '10' })).toBe(1)
  })

  it('uses the default latency buckets in seconds, or metrics.defaultBuckets', () => {
    expect(metrics().histogram('a_seconds').buckets).toEqual([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    expect(metrics({ defaultBuckets: [1, 2] }).histogram('a_seconds').buckets).toEqual([1, 2])
  })

  it('finds buckets by linear and binary search alike', () => {
    for (const n of [3, 16, 17, 64]) {
      const bounds = Float64Array.from({ length: n }, (_, i) => (i + 1) * 10)
      for (const v of [-1, 0, 10, 10.5, 20, n * 10, n * 10 + 1]) {
        const expected = bounds.findIndex((b) => v <= b)
        expect(bucketIndex(bounds, v)).toBe(expected === -1 ? n : expected)
      }
    }
  })

  it('rejects bad buckets and a second request with other buckets', () => {
    const m = metrics()
    expect(() => m.histogram('h1', { buckets: [5, 1] })).toThrow(InvalidArgumentError)
    expect(() => m.histogram('h2', { buckets: [] })).toThrow(InvalidArgumentError)
    expect(() => m.histogram('h3', { buckets: [1, Infinity] })).toThrow(InvalidArgumentError)
    expect(() => m.histogram('h4', { buckets: Array.from({ length: 65 }, (_, i) => i) })).toThrow(/64/)
    m.histogram('h5', { buckets: [1, 2] })
    expect(m.histogram('h5').buckets).toEqual([1, 2])
    expect(() => m.histogram('h5', { buckets: [1, 3] })).toThrow(InvalidArgumentError)
  })

  it('reserves "le" and drops non-finite observations', () => {
    const logger = spyLogger()
    const m = metrics({}, logger)
    const h = m.histogram('h_ms', { buckets: [1] })
    expect(() => h.bind({ le: '1' })).toThrow(InvalidArgumentError)
    h.observe(1, { le: 'x' })
    h.observe(Number.NaN)
    h.observe(Infinity)
    expect(m.render()).toBe('')
    expect(logger.warn).toHaveBeenCalledTimes(2)
    // The warning shows the value that came (JSON would have printed null).
    expect(logger.warn.mock.calls.some(([message]) => /value NaN dropped/.test(String(message)))).toBe(true)
    const g = m.gauge('g_inf')
    g.set(-Infinity)
    expect(logger.warn).toHaveBeenLastCalledWith(expect.stringMatching(/value -Infinity dropped/))
  })
})

describe('names and registry', () => {
  it('returns the same instrument for the same name and kind, and refuses another kind', () => {
    const m = metrics()
    expect(m.counter('x_total')).toBe(m.counter('x_total'))
    expect(() => m.gauge('x_total')).toThrow(InvalidArgumentError)
    expect(() => m.histogram('x_total')).toThrow(/already exists as a counter/)
  })

  it('validates metric names by the Prometheus rules at creation', () => {
    const m = metrics()
    for (const bad of ['', '1abc', 'a-b', 'a b', 'é', undefined]) {
      expect(() => m.counter(bad as string)).toThrow(InvalidArgumentError)
    }
    expect(m.counter('ns:sub_total').name).toBe('ns:sub_total')
    expect(() => m.counter('h', { help: 'x'.repeat(1025) })).toThrow(InvalidArgumentError)
    expect(() => m.counter('h2', { maxSeries: 0 })).toThrow(/maxSeries/)
  })

  it("keeps a histogram's series names free", () => {
    const m = metrics()
    m.histogram('rt')
    expect(() => m.counter('rt_count')).toThrow(InvalidArgumentError)
    m.gauge('q_sum')
    expect(() => m.histogram('q')).toThrow(InvalidArgumentError)
  })

  it('never throws for bad labels on the recording path: logs once per metric and drops', () => {
    const logger = spyLogger()
    const m = metrics({}, logger)
    const c = m.counter('c_total')
    c.inc(1, { 'bad-name': 'x' })
    c.inc(1, { __reserved: 'x' })
    c.inc(1, { [OVERFLOW_LABEL]: 'x' })
    c.inc(1, { ok: undefined as unknown as string })
    c.inc(1, { ok: {} as unknown as string })
    c.inc(1, 'nope' as unknown as Record<string, string>)
    expect(m.render()).toBe('')
    expect(logger.warn).toHaveBeenCalledTimes(1)
    expect(() => c.bind({ 'bad-name': 'x' })).toThrow(InvalidArgumentError)
  })
})

describe('label cap', () => {
  it('routes label sets over the cap into one overflow series and warns once', () => {
    const logger = spyLogger()
    const m = metrics({ maxSeriesPerInstrument: 3 }, logger)
    const c = m.counter('c_total')
    for (let i = 0; i < 10; i++) c.inc(1, { user: `u${i}` })
    c.inc(1, { user: 'u0' })
    const f = values(m)
    expect(f.get('c_total')?.samples).toHaveLength(4)
    expect(sampleValue(f, 'c_total', { user: 'u0' })).toBe(2)
    expect(sampleValue(f, 'c_total', { [OVERFLOW_LABEL]: 'true' })).toBe(7)
    expect(logger.warn).toHaveBeenCalledTimes(1)
    expect(String(logger.warn.mock.calls[0]?.[0])).toContain('cap of 3')
  })

  it('honours a per-instrument maxSeries and binds over-cap handles to the overflow series', () => {
    const m = metrics()
    const h = m.histogram('h_ms', { maxSeries: 1, buckets: [1] })
    h.observe(0.5, { a: '1' })
    h.bind({ a: '2' }).observe(2)
    const f = values(m)
    expect(sampleValue(f, 'h_ms_count', { a: '1' })).toBe(1)
    expect(sampleValue(f, 'h_ms_count', { [OVERFLOW_LABEL]: 'true' })).toBe(1)
  })
})

describe('the recording path', () => {
  it('allocates nothing for label sets it has seen', () => {
    const m = metrics()
    const c = m.counter('alloc_total')
    const h = m.histogram('alloc_ms')
    const labels = [
      { route: '/a', status: '200' },
      { route: '/b', status: '500' },
    ]
    const bound = c.bind({ route: '/c' })
    // JS callers' mistakes must not put the hot path on a slower, allocating footing.
    c.inc(1, 'oops' as unknown as Record<string, string>)
    h.observe(1, null as unknown as Record<string, string>)
    const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size ?? 0
    // The least of a few tries: a deoptimisation mid-run may allocate once in a while, while
    // a path that allocates per call shows up in every try.
    const grownBy = (record: (n: number) => void): number => {
      record(200_000) // warm up: optimised code, every label set seen
      let least = Infinity
      for (let attempt = 0; attempt < 5; attempt++) {
        const before = newSpace()
        record(100_000)
        const grown = newSpace() - before
        if (grown >= 0) least = Math.min(least, grown)
      }
      return least
    }
    const grown = [
      grownBy((n) => {
        for (let i = 0; i < n; i++) c.inc(1, labels[i & 1])
      }),
      grownBy((n) => {
        for (let i = 0; i < n; i++) h.observe((i & 63) + 0.25, labels[i & 1])
      }),
      grownBy((n) => {
        for (let i = 0; i < n; i++) bound.inc()
      }),
    ]
    // 100,000 recordings each: even 8 bytes per call would be 800 KB (or a scavenge, < 0).
    for (const g of grown) {
      expect(g).toBeGreaterThanOrEqual(0)
      expect(g).toBeLessThan(32 * 1024)
    }
    expect(sampleValue(values(m), 'alloc_total', { route: '/a', status: '200' })).toBe(350_000)
  })
})
