/**
 * The reference server down for three intervals, then back (restarted behind the same address, a proxy):
 * under maxPendingBatches nothing is lost (its counter sums equal what was recorded);
 * over it the oldest batches are dropped and the drop count is exact. Each interval is
 * one flush(), so the test does not depend on timer races; the background retries are
 * pushed out of the way (an hour) for the same reason.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { ServerUnavailableError } from '../../src/errors.js'
import type { GovernanceEvents } from '../../src/events.js'
import { createMetrics, type Metrics } from '../../src/metrics/index.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import type { MetricPoint } from '../../src/types.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'

let server: GovernanceServer | undefined
let backend: Backend | undefined
let metrics: Metrics | undefined
/** The client's address across restarts: a proxy that keeps its port (none is freed and reused). */
let proxy: TcpProxy | undefined

afterEach(async () => {
  await metrics?.close().catch(() => undefined)
  await backend?.close()
  await server?.close()
  await proxy?.close()
  server = backend = metrics = proxy = undefined
})

/** Stops the server; the proxy refuses connections until `restart`. */
async function stop(): Promise<void> {
  proxy?.pause(true)
  proxy?.cut()
  await (server as GovernanceServer).close()
}

/** A new, empty server (on a port of its own) behind the same address. */
async function restart(): Promise<void> {
  server = await createGovernanceServer({ port: 0, host: '127.0.0.1' })
  proxy?.retarget(server.url)
}

type Dropped = GovernanceEvents['metrics:dropped']

async function setup(maxPendingBatches: number) {
  server = await createGovernanceServer({ port: 0, host: '127.0.0.1' })
  proxy = await startTcpProxy(server.url)
  backend = httpBackend({ server: proxy.url, requestTimeoutMs: 2_000 })
  const dropped: Dropped[] = []
  metrics = createMetrics(
    { processMetrics: false, maxPendingBatches, flushIntervalMs: 3_600_000, retry: { minDelayMs: 3_600_000, maxDelayMs: 3_600_000 } },
    {
      emit: (event, payload) => {
        if (event === 'metrics:dropped') dropped.push(payload as Dropped)
      },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      clock: Date,
      service: 'orders',
      instanceId: 'orders-1',
      sinks: [backend.createMetricSink?.() ?? fail('the http backend has no metric sink')],
    },
  )
  return { dropped, m: metrics }
}

function fail(message: string): never {
  throw new Error(message)
}

async function totals(service: string): Promise<MetricPoint[]> {
  const res = await fetch(`${(server as GovernanceServer).url}/v1/metrics/${service}`)
  expect(res.status).toBe(200)
  return ((await res.json()) as { totals: MetricPoint[] }).totals
}

function counter(points: readonly MetricPoint[], name: string, labels: Record<string, string> = {}): number | undefined {
  const p = points.find((x) => x.name === name && JSON.stringify(x.labels) === JSON.stringify(labels))
  return p?.kind === 'counter' ? p.value : undefined
}

describe('metrics against the reference server going down and coming back', () => {
  it('loses nothing while under maxPendingBatches', async () => {
    const { dropped, m } = await setup(10)
    const requests = m.counter('requests_total')
    const rt = m.histogram('rt_ms', { buckets: [10, 100] })
    requests.inc(1, { route: '/a' })
    await m.flush()
    expect(counter(await totals('orders'), 'requests_total', { route: '/a' })).toBe(1)

    await stop()
    let recorded = 0
    for (let interval = 1; interval <= 3; interval++) {
      requests.inc(interval * 10, { route: '/a' })
      rt.observe(interval * 40)
      recorded += interval * 10
      await expect(m.flush()).rejects.toBeInstanceOf(ServerUnavailableError)
    }
    // Back on the same port; its memory starts empty, so it holds what was sent since.
    await restart()
    requests.inc(5, { route: '/a' })
    recorded += 5
    await m.flush()
    const after = await totals('orders')
    expect(counter(after, 'requests_total', { route: '/a' })).toBe(recorded)
    expect(after.find((p) => p.name === 'rt_ms')).toMatchObject({ kind: 'histogram', buckets: [10, 100], counts: [0, 2, 1], sum: 240, count: 3 })
    expect(dropped).toEqual([])
  })

  it('over maxPendingBatches drops the oldest, and counts them exactly', async () => {
    const { dropped, m } = await setup(2)
    const requests = m.counter('requests_total')
    await stop()
    const perInterval = [1, 10, 100, 1_000, 10_000]
    for (const value of perInterval) {
      requests.inc(value)
      await expect(m.flush()).rejects.toBeInstanceOf(ServerUnavailableError)
    }
    // Five batches, room for two: the three oldest went, one point each.
    expect(dropped).toEqual([
      { sink: 'http', batches: 1, points: 1, reason: 'queue-full' },
      { sink: 'http', batches: 1, points: 1, reason: 'queue-full' },
      { sink: 'http', batches: 1, points: 1, reason: 'queue-full' },
    ])
    await restart()
    // This flush's batch carries the self-metric for the three dropped points; the queue
    // holds two, so the oldest waiting one (1,000) goes too.
    await m.flush()
    expect(dropped).toHaveLength(4)
    const after = await totals('orders')
    expect(counter(after, 'requests_total')).toBe(10_000)
    // The self-metric counts every dropped point locally; its own deltas ride in batches
    // too, and the one in the 1,000 batch was dropped with it.
    const local = m.render().match(/^governance_metrics_dropped_points_total\{sink="http"\} (\d+)$/m)?.[1]
    expect(Number(local)).toBe(dropped.reduce((s, d) => s + d.points, 0))
    expect(Number(local)).toBe(5) // 1 + 1 + 1 + (1,000 and a self-metric delta)
    expect(counter(after, 'governance_metrics_dropped_points_total', { sink: 'http' })).toBe(2)
  })
})
