import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { MetricSink } from '../../src/backend.js'
import { ServerUnavailableError } from '../../src/errors.js'
import type { GovernanceEvents } from '../../src/events.js'
import { createMetrics, type Metrics, type MetricsOptions } from '../../src/metrics/index.js'
import type { MetricBatch } from '../../src/types.js'

let dataDir: string
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gov-metrics-spill-'))
})
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true })
})

function sink(up: boolean): MetricSink & { calls: MetricBatch[]; accepted: MetricBatch[]; up: boolean } {
  const s = {
    name: 'backend',
    up,
    calls: [] as MetricBatch[],
    accepted: [] as MetricBatch[],
    async export(batch: MetricBatch): Promise<void> {
      s.calls.push(batch)
      if (!s.up) throw new ServerUnavailableError('down')
      s.accepted.push(batch)
    },
  }
  return s
}

type Events = { [K in keyof GovernanceEvents]: GovernanceEvents[K][] }

function start(target: MetricSink, options: MetricsOptions = {}) {
  const events: Partial<Events> = {}
  const listeners: (() => void)[] = []
  const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() }
  const metrics: Metrics = createMetrics(
    { processMetrics: false, flushIntervalMs: 3_600_000, retry: { minDelayMs: 3_600_000, maxDelayMs: 3_600_000 }, ...options },
    {
      emit: (event, payload) => {
        ;((events[event] ??= []) as unknown[]).push(payload)
        for (const l of listeners) l()
      },
      logger,
      clock: { now: () => Date.now() },
      service: 'orders',
      instanceId: 'orders-1',
      dataDir,
      sinks: [target],
    },
  )
  /** Resolves once `count` events of that name were emitted. */
  const waitFor = <K extends keyof GovernanceEvents>(event: K, count: number): Promise<GovernanceEvents[K][]> =>
    new Promise((resolve) => {
      const check = (): void => {
        const got = (events[event] ?? []) as GovernanceEvents[K][]
        if (got.length >= count) resolve(got)
      }
      listeners.push(check)
      check()
    })
  return { metrics, events, logger, waitFor }
}

const folder = (): string => join(dataDir, 'metrics', 'sink-backend')

describe('dataDir spill', () => {
  it('keeps undelivered batches on disk at close, and a new Metrics on the same dir resends them', async () => {
    const down = sink(false)
    const a = start(down)
    a.metrics.counter('c_total').inc(5)
    await expect(a.metrics.flush()).rejects.toBeInstanceOf(ServerUnavailableError)
    a.metrics.counter('c_total').inc(6)
    await expect(a.metrics.flush()).rejects.toBeInstanceOf(ServerUnavailableError)
    await a.metrics.close()
    expect(a.events['metrics:dropped']).toBeUndefined()
    expect(await readdir(folder())).toHaveLength(2)
    // Only the head is attempted while the sink is down; the second waits behind it.
    const tried = [...new Set(down.calls.map((b) => b.batchId))]
    expect(tried).toHaveLength(1)

    const up = sink(true)
    const b = start(up)
    await b.waitFor('metrics:exported', 2)
    expect(up.accepted).toHaveLength(2)
    expect(up.accepted[0]?.batchId).toBe(tried[0])
    const total = up.accepted.flatMap((x) => x.points).reduce((s, p) => s + (p.kind === 'counter' ? p.value : 0), 0)
    expect(total).toBe(11)
    await b.metrics.close()
    expect(await readdir(folder())).toEqual([])
  })

  it('has a batch on disk as soon as it is queued, so a crash loses nothing', async () => {
    const a = start(sink(false))
    a.metrics.counter('c_total').inc(3)
    await a.metrics.flush().catch(() => undefined)
    await vi.waitFor(async () => expect((await readdir(folder())).filter((f) => f.endsWith('.json'))).toHaveLength(1), { timeout: 10_000 })
    // No close(): the application "crashed". The next run resends.
    const up = sink(true)
    const b = start(up)
    await b.waitFor('metrics:exported', 1)
    expect(up.accepted[0]?.points[0]).toMatchObject({ name: 'c_total', value: 3 })
    await b.metrics.close()
  })

  it('removes unreadable files and leftovers of interrupted writes', async () => {
    await mkdir(folder(), { recursive: true })
    await writeFile(join(folder(), '000000000000001-0000000001-aaaa.json'), '{"not":"a batch"}')
    await writeFile(join(folder(), '000000000000002-0000000001-aaaa.json'), '{ torn')
    await writeFile(join(folder(), '.000000000000003.json.abc.tmp'), '{')
    const up = sink(true)
    const b = start(up)
    b.metrics.counter('c_total').inc()
    await b.metrics.flush()
    expect(up.accepted).toHaveLength(1)
    expect(b.logger.warn).toHaveBeenCalledTimes(2)
    await b.metrics.close()
    expect(await readdir(folder())).toEqual([])
  })

  it('applies maxPendingBatches to what it loads, dropping the oldest', async () => {
    const down = sink(false)
    const a = start(down)
    for (let i = 1; i <= 4; i++) {
      a.metrics.counter('c_total').inc(i)
      await a.metrics.flush().catch(() => undefined)
    }
    await a.metrics.close()
    const up = sink(true)
    const b = start(up, { maxPendingBatches: 2 })
    await b.waitFor('metrics:exported', 2)
    expect(b.events['metrics:dropped']).toEqual([{ sink: 'backend', batches: 2, points: 2, reason: 'queue-full' }])
    expect(up.accepted.map((x) => x.points[0])).toMatchObject([{ value: 3 }, { value: 4 }])
    await b.metrics.close()
    expect(await readdir(folder())).toEqual([])
  })
})
