import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { CallContext, MetricSink } from '../../src/backend.js'
import { ClientClosedError, RequestRejectedError, ServerUnavailableError, TimeoutError, type GovernanceError } from '../../src/errors.js'
import type { GovernanceEvents } from '../../src/events.js'
import type { Logger } from '../../src/internal/logger.js'
import { guardEmit } from '../../src/internal/safe-emit.js'
import { createMetrics, DROPPED_POINTS_METRIC, PROCESS_METRIC_NAMES, type Metrics, type MetricsOptions } from '../../src/metrics/index.js'
import type { MetricBatch, MetricPoint } from '../../src/types.js'
import { parseExposition, sampleValue } from '../helpers/exposition-parser.js'

type Behaviour = (batch: MetricBatch, ctx: CallContext) => Promise<void>

/** Records what it accepts; `behaviour` decides per call; tracks concurrent exports. */
class FakeSink implements MetricSink {
  readonly accepted: MetricBatch[] = []
  readonly calls: MetricBatch[] = []
  active = 0
  maxActive = 0
  behaviour: Behaviour = async () => undefined
  constructor(readonly name = 'fake') {}
  async export(batch: MetricBatch, ctx: CallContext): Promise<void> {
    this.calls.push(batch)
    this.active += 1
    this.maxActive = Math.max(this.maxActive, this.active)
    try {
      await this.behaviour(batch, ctx)
      this.accepted.push(batch)
    } finally {
      this.active -= 1
    }
  }
}

interface Harness {
  metrics: Metrics
  events: { [K in keyof GovernanceEvents]?: GovernanceEvents[K][] }
  logger: Logger
}

function setup(sinks: MetricSink[], options: MetricsOptions = {}, emit?: () => void): Harness {
  const events: Harness['events'] = {}
  const logger: Logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() }
  const metrics = createMetrics(
    { processMetrics: false, upstreamMetrics: false, flushIntervalMs: 1_000, ...options },
    {
      // Guarded as the facade guards it: subsystems trust ctx.emit never to throw.
      emit: guardEmit((event, payload) => {
        emit?.()
        ;((events[event] ??= []) as unknown[]).push(payload)
      }, logger),
      logger,
      clock: { now: () => Date.now() },
      service: 'orders',
      instanceId: 'orders-1',
      sinks,
    },
  )
  return { metrics, events, logger }
}

const unavailable = (details?: Record<string, unknown>): GovernanceError =>
  new ServerUnavailableError('down', details === undefined ? {} : { details })

function points(batches: readonly MetricBatch[], name: string): MetricPoint[] {
  return batches.flatMap((b) => b.points.filter((p) => p.name === name))
}

function counterSum(batches: readonly MetricBatch[], name: string): number {
  return points(batches, name).reduce((s, p) => s + (p.kind === 'counter' ? p.value : 0), 0)
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_764_000_000_000 })
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

describe('the reader', () => {
  it('sends one protocol v1 batch per interval: counter deltas, gauge values, histograms', async () => {
    const sink = new FakeSink()
    const { metrics, events } = setup([sink])
    metrics.counter('req_total', { help: 'Requests.' }).inc(2, { route: '/a' })
    metrics.gauge('depth').set(3)
    metrics.histogram('rt_ms', { buckets: [5, 10] }).observe(7)
    await vi.advanceTimersByTimeAsync(999)
    expect(sink.calls).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(sink.accepted).toHaveLength(1)
    const batch = sink.accepted[0] as MetricBatch
    expect(batch).toMatchObject({ service: 'orders', instance: 'orders-1', timestamp: 1_764_000_001_000 })
    expect(batch.batchId).toMatch(/^orders-1-[0-9a-f]{12}-1$/)
    expect(batch.points).toEqual([
      { name: 'req_total', kind: 'counter', labels: { route: '/a' }, value: 2, help: 'Requests.' },
      { name: 'depth', kind: 'gauge', labels: {}, value: 3 },
      { name: 'rt_ms', kind: 'histogram', labels: {}, buckets: [5, 10], counts: [0, 1, 0], sum: 7, count: 1 },
    ])
    expect(events['metrics:exported']).toEqual([{ sink: 'fake', batchId: batch.batchId, points: 3 }])
    await metrics.close()
  })

  it('swaps the window: only what changed since the last batch is resent, gauges always', async () => {
    const sink = new FakeSink()
    const { metrics } = setup([sink])
    const a = metrics.counter('a_total')
    const b = metrics.counter('b_total')
    const h = metrics.histogram('h_ms', { buckets: [1] })
    a.inc(1)
    b.inc(1)
    h.observe(0.5)
    metrics.gauge('g').set(1)
    await vi.advanceTimersByTimeAsync(1_000)
    a.inc(5)
    await vi.advanceTimersByTimeAsync(1_000)
    const second = sink.accepted[1] as MetricBatch
    expect(second.points.map((p) => p.name)).toEqual(['a_total', 'g'])
    expect(points([second], 'a_total')[0]).toMatchObject({ value: 5 })
    expect(new Set(sink.accepted.map((x) => x.batchId)).size).toBe(2)
    await metrics.close()
  })

  it('attributes the batches of a client without a service to a valid service name', async () => {
    const sink = new FakeSink()
    const metrics = createMetrics(
      { processMetrics: false },
      { emit: () => undefined, logger: console, clock: Date, service: undefined, instanceId: 'client-7', sinks: [sink] },
    )
    metrics.counter('c_total').inc()
    await metrics.flush()
    expect(sink.accepted[0]?.service).toBe('unknown-service')
    expect(sink.accepted[0]?.service).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/) // protocol v1, section 3
    await metrics.close()
  })

  it('builds no batch without a sink; recording, render() and flush() still work', async () => {
    const { metrics } = setup([])
    metrics.counter('c_total').inc()
    await vi.advanceTimersByTimeAsync(10_000)
    await metrics.flush()
    expect(sampleValue(parseExposition(metrics.render()), 'c_total')).toBe(1)
    expect(vi.getTimerCount()).toBe(0)
    await metrics.close()
  })

  it('never runs two exports to one sink at once, and keeps their order', async () => {
    const sink = new FakeSink()
    const release: (() => void)[] = []
    sink.behaviour = () => new Promise<void>((resolve) => release.push(resolve))
    const { metrics } = setup([sink], { exportTimeoutMs: 60_000 })
    const c = metrics.counter('c_total')
    for (let i = 1; i <= 5; i++) {
      c.inc(i)
      await vi.advanceTimersByTimeAsync(1_000)
    }
    expect(sink.calls).toHaveLength(1)
    while (release.length > 0) {
      release.shift()?.()
      await vi.advanceTimersByTimeAsync(0)
    }
    expect(sink.maxActive).toBe(1)
    expect(sink.accepted.map((b) => counterSum([b], 'c_total'))).toEqual([1, 2, 3, 4, 5])
    await metrics.close()
  })

  it('keeps one queue per sink: a dead sink does not hold up another', async () => {
    const dead = new FakeSink('dead')
    dead.behaviour = () => new Promise<void>(() => undefined)
    const live = new FakeSink('live')
    const { metrics } = setup([dead, live], { exportTimeoutMs: 60_000 })
    for (let i = 0; i < 3; i++) {
      metrics.counter('c_total').inc()
      await vi.advanceTimersByTimeAsync(1_000)
    }
    expect(live.accepted).toHaveLength(3)
    expect(dead.accepted).toHaveLength(0)
  })

  it('has its timer unref\'d', () => {
    vi.useRealTimers()
    const { metrics } = setup([new FakeSink()])
    const timer = (metrics as unknown as { timer: NodeJS.Timeout }).timer
    expect(timer.hasRef()).toBe(false)
    void metrics.close()
  })
})

describe('delivery', () => {
  it('bounds the queue: the oldest are dropped first and the drop count is exact', async () => {
    const all = new FakeSink('all')
    const flaky = new FakeSink('flaky')
    flaky.behaviour = async () => {
      throw unavailable()
    }
    const { metrics, events } = setup([all, flaky], { maxPendingBatches: 3, retry: { minDelayMs: 600_000, maxDelayMs: 600_000 } })
    const c = metrics.counter('c_total')
    for (let i = 0; i < 8; i++) {
      c.inc(10)
      await vi.advanceTimersByTimeAsync(1_000)
    }
    const dropped = events['metrics:dropped'] ?? []
    expect(dropped.every((d) => d.sink === 'flaky' && d.reason === 'queue-full')).toBe(true)
    expect(dropped.reduce((s, d) => s + d.batches, 0)).toBe(5)
    flaky.behaviour = async () => undefined
    c.inc(10)
    await metrics.flush() // its batch makes 4 pending: one more of the oldest goes
    expect(dropped.reduce((s, d) => s + d.batches, 0)).toBe(6)
    // The newest three arrived, in order; the six oldest did not.
    const ids = all.accepted.map((b) => b.batchId)
    expect(ids).toHaveLength(9)
    expect(flaky.accepted.map((b) => b.batchId)).toEqual(ids.slice(6))
    const lost = all.accepted.slice(0, 6)
    expect(dropped.reduce((s, d) => s + d.points, 0)).toBe(lost.reduce((s, b) => s + b.points.length, 0))
    expect(counterSum(lost, 'c_total')).toBe(60)
    expect(counterSum(flaky.accepted, 'c_total')).toBe(30)
    const selfMetric = sampleValue(parseExposition(metrics.render()), DROPPED_POINTS_METRIC, { sink: 'flaky' })
    expect(selfMetric).toBe(dropped.reduce((s, d) => s + d.points, 0))
    await metrics.close()
  })

  it('loses nothing while under maxPendingBatches', async () => {
    const sink = new FakeSink()
    let down = true
    sink.behaviour = async () => {
      if (down) throw unavailable()
    }
    const { metrics, events } = setup([sink], { maxPendingBatches: 5, retry: { minDelayMs: 100, maxDelayMs: 400 } })
    const c = metrics.counter('c_total')
    for (let i = 0; i < 3; i++) {
      c.inc(7)
      await vi.advanceTimersByTimeAsync(1_000)
    }
    down = false
    await vi.advanceTimersByTimeAsync(1_000)
    expect(events['metrics:dropped']).toBeUndefined()
    expect(counterSum(sink.accepted, 'c_total')).toBe(21)
    await metrics.close()
  })

  it('retries with full-jitter backoff, keeping the batchId', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(1) // the ceiling of each backoff window
    const sink = new FakeSink()
    let failures = 3
    sink.behaviour = async () => {
      if (failures-- > 0) throw unavailable()
    }
    const { metrics, events } = setup([sink], { flushIntervalMs: 3_600_000, retry: { minDelayMs: 1_000, maxDelayMs: 8_000 } })
    metrics.counter('c_total').inc()
    await vi.advanceTimersByTimeAsync(3_600_000)
    expect(sink.calls).toHaveLength(1)
    const at = [999, 1, 1_999, 1, 3_999, 1]
    const expectedCalls = [1, 2, 2, 3, 3, 4]
    for (let i = 0; i < at.length; i++) {
      await vi.advanceTimersByTimeAsync(at[i] as number)
      expect(sink.calls).toHaveLength(expectedCalls[i] as number)
    }
    expect(new Set(sink.calls.map((b) => b.batchId)).size).toBe(1)
    expect(sink.accepted).toHaveLength(1)
    expect(events['metrics:exportFailed']?.map((e) => e.attempt)).toEqual([1, 2, 3])
    expect(events['metrics:exportFailed']?.[0]?.error).toBeInstanceOf(ServerUnavailableError)
    await metrics.close()
  })

  it("honours the server's Retry-After as the minimum delay", async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0)
    const sink = new FakeSink()
    let failures = 1
    sink.behaviour = async () => {
      if (failures-- > 0) throw unavailable({ retryAfterMs: 5_000 })
    }
    const { metrics } = setup([sink], { flushIntervalMs: 3_600_000 })
    metrics.counter('c_total').inc()
    await vi.advanceTimersByTimeAsync(3_600_000)
    await vi.advanceTimersByTimeAsync(4_999)
    expect(sink.calls).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(sink.accepted).toHaveLength(1)
    await metrics.close()
  })

  it('drops a batch that the sink rejects as not retryable and goes on', async () => {
    const sink = new FakeSink()
    let first = true
    sink.behaviour = async () => {
      if (first) {
        first = false
        throw new RequestRejectedError('bad batch', { status: 400 })
      }
    }
    const { metrics, events } = setup([sink])
    metrics.counter('c_total').inc()
    await vi.advanceTimersByTimeAsync(1_000)
    metrics.counter('c_total').inc()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(events['metrics:dropped']).toEqual([{ sink: 'fake', batches: 1, points: 1, reason: 'rejected' }])
    expect(sink.accepted).toHaveLength(1)
    await metrics.close()
  })

  it('treats a plain Error from a sink as retryable', async () => {
    const sink = new FakeSink()
    let failures = 1
    sink.behaviour = async () => {
      if (failures-- > 0) throw new Error('socket hang up')
    }
    const { metrics, events } = setup([sink], { retry: { minDelayMs: 10, maxDelayMs: 10 } })
    metrics.counter('c_total').inc()
    await vi.advanceTimersByTimeAsync(1_010)
    expect(sink.accepted).toHaveLength(1)
    expect(events['metrics:exportFailed']?.[0]?.error.message).toContain('socket hang up')
    await metrics.close()
  })

  it('fails an export that outlives exportTimeoutMs and aborts its signal', async () => {
    const sink = new FakeSink()
    const signals: AbortSignal[] = []
    sink.behaviour = (_b, ctx) => {
      if (ctx.signal !== undefined) signals.push(ctx.signal)
      expect(ctx.timeoutMs).toBe(500)
      return new Promise<void>(() => undefined) // ignores its signal
    }
    const { metrics, events } = setup([sink], { exportTimeoutMs: 500, flushIntervalMs: 3_600_000 })
    metrics.counter('c_total').inc()
    await vi.advanceTimersByTimeAsync(3_600_000 + 500)
    expect(events['metrics:exportFailed']?.[0]?.error).toBeInstanceOf(TimeoutError)
    expect(signals[0]?.aborted).toBe(true)
  })

  it('survives a listener that throws', async () => {
    const sink = new FakeSink()
    const { metrics, logger } = setup([sink], {}, () => {
      throw new Error('listener bug')
    })
    metrics.counter('c_total').inc()
    await vi.advanceTimersByTimeAsync(1_000)
    metrics.counter('c_total').inc()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(sink.accepted).toHaveLength(2)
    expect(logger.error).toHaveBeenCalled()
    await metrics.close()
  })

  it('splits a collection that would break the protocol limits', async () => {
    const sink = new FakeSink()
    const { metrics } = setup([sink], { maxSeriesPerInstrument: 20_000 })
    const c = metrics.counter('c_total')
    for (let i = 0; i < 12_000; i++) c.inc(1, { id: String(i) })
    await metrics.flush()
    expect(sink.accepted.length).toBeGreaterThanOrEqual(3)
    for (const b of sink.accepted) expect(b.points.length).toBeLessThanOrEqual(5_000)
    expect(counterSum(sink.accepted, 'c_total')).toBe(12_000)
    await metrics.close()
  })
})

describe('flush() and close()', () => {
  it('flush() sends at once, and rejects with the failure while keeping the batch', async () => {
    const sink = new FakeSink()
    let down = true
    sink.behaviour = async () => {
      if (down) throw unavailable()
    }
    const { metrics } = setup([sink], { flushIntervalMs: 3_600_000 })
    metrics.counter('c_total').inc(4)
    await expect(metrics.flush()).rejects.toBeInstanceOf(ServerUnavailableError)
    down = false
    metrics.counter('c_total').inc(1)
    await metrics.flush()
    expect(sink.accepted).toHaveLength(2)
    expect(counterSum(sink.accepted, 'c_total')).toBe(5)
    await metrics.close()
  })

  it('flush() rejects when a batch it waited for was refused for good', async () => {
    const sink = new FakeSink()
    sink.behaviour = async (b) => {
      if (b.points.some((p) => p.name === 'bad_total')) throw new RequestRejectedError('no', { status: 400 })
    }
    const { metrics, events } = setup([sink], { flushIntervalMs: 3_600_000 })
    metrics.counter('bad_total').inc()
    await expect(metrics.flush()).rejects.toBeInstanceOf(RequestRejectedError)
    expect(events['metrics:dropped']).toMatchObject([{ reason: 'rejected', batches: 1 }])
    metrics.gauge('ok').set(1)
    await metrics.flush()
    await metrics.close()
  })

  it('flush() rejects with its signal\'s reason', async () => {
    const sink = new FakeSink()
    sink.behaviour = () => new Promise<void>(() => undefined)
    const { metrics } = setup([sink], { exportTimeoutMs: 60_000 })
    metrics.counter('c_total').inc()
    const controller = new AbortController()
    const pending = metrics.flush({ signal: controller.signal })
    controller.abort(new Error('enough'))
    await expect(pending).rejects.toThrow('enough')
    await expect(metrics.flush({ signal: AbortSignal.abort(new Error('before')) })).rejects.toThrow('before')
  })

  it('close() sends what is pending, stops the timer and closes the sinks; it is idempotent', async () => {
    const sink = Object.assign(new FakeSink(), { close: vi.fn(async () => undefined) })
    const { metrics } = setup([sink])
    metrics.counter('c_total').inc(3)
    const first = metrics.close()
    expect(metrics.close()).toBe(first)
    await first
    expect(counterSum(sink.accepted, 'c_total')).toBe(3)
    expect(sink.close).toHaveBeenCalledTimes(1)
    metrics.counter('c_total').inc() // recording after close never throws
    await vi.advanceTimersByTimeAsync(10_000)
    expect(sink.calls).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
    await expect(metrics.flush()).rejects.toBeInstanceOf(ClientClosedError)
  })

  it('close() without dataDir drops, and counts, what it cannot send', async () => {
    const sink = new FakeSink()
    sink.behaviour = async () => {
      throw unavailable()
    }
    const { metrics, events } = setup([sink], { flushIntervalMs: 3_600_000 })
    metrics.counter('c_total').inc()
    metrics.gauge('g').set(1)
    await metrics.close()
    expect(events['metrics:dropped']).toEqual([{ sink: 'fake', batches: 1, points: 2, reason: 'closed' }])
  })
})

describe('built-in process metrics', () => {
  it('are on by default and switchable', async () => {
    vi.useRealTimers()
    const on = new FakeSink()
    const a = createMetrics(undefined, { emit: () => undefined, logger: console, clock: Date, service: 's', instanceId: 'i', sinks: [on] })
    await a.flush()
    const names = new Set(on.accepted.flatMap((b) => b.points.map((p) => p.name)))
    for (const n of PROCESS_METRIC_NAMES.filter((x) => !x.startsWith('governance_nodejs_eventloop'))) expect(names).toContain(n)
    const f = parseExposition(a.render())
    expect(sampleValue(f, 'governance_process_resident_memory_bytes')).toBeGreaterThan(1e6)
    await a.close()
    const off = createMetrics({ processMetrics: false }, { emit: () => undefined, logger: console, clock: Date, service: 's', instanceId: 'i', sinks: [] })
    expect(off.render()).toBe('')
    await off.close()
  })
})
