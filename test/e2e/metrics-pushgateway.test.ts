/**
 * A real Prometheus Pushgateway receives the metrics and shows them on its /metrics.
 * Skipped with a notice when the binary is missing, except in CI, where it must run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMetrics, pushgatewaySink } from '../../src/metrics/index.js'
import { parseExposition, sampleValue } from '../helpers/exposition-parser.js'
import {
  PUSHGATEWAY_BIN,
  PUSHGATEWAY_INSTALL_HINT,
  pushgatewayInstalled,
  startPushgateway,
  type RunningPushgateway,
} from '../helpers/pushgateway.js'

const installed = pushgatewayInstalled()
if (!installed && process.env.CI !== 'true') {
  console.warn(`skipping the Pushgateway e2e test: ${PUSHGATEWAY_BIN} is missing (${PUSHGATEWAY_INSTALL_HINT})`)
}

describe.skipIf(!installed && process.env.CI !== 'true')('Pushgateway sink against a real Pushgateway', () => {
  let gateway: RunningPushgateway | undefined

  beforeAll(async () => {
    if (!installed) throw new Error(`${PUSHGATEWAY_BIN} is missing in CI: ${PUSHGATEWAY_INSTALL_HINT} (in .ci/run)`)
    gateway = await startPushgateway()
  })
  afterAll(async () => {
    await gateway?.stop()
  })

  it('receives counters, gauges and histograms, and shows running totals on /metrics', async () => {
    const url = (gateway as RunningPushgateway).url
    const errors: unknown[] = []
    const metrics = createMetrics(
      { processMetrics: false, flushIntervalMs: 3_600_000 },
      {
        emit: (event, payload) => {
          if (event === 'metrics:exportFailed') errors.push(payload)
        },
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        clock: Date,
        service: 'orders',
        instanceId: 'orders-1',
        sinks: [pushgatewaySink({ url })],
      },
    )
    const requests = metrics.counter('http_requests_total', { help: 'Requests served.' })
    const rt = metrics.histogram('http_request_duration_seconds', { help: 'Response time.', buckets: [0.005, 0.05] })
    requests.inc(2, { route: '/a', status: '200' })
    requests.inc(1, { route: '/b "quoted"', status: '500' })
    rt.observe(0.003, { route: '/a' })
    metrics.gauge('queue_depth').set(7)
    await metrics.flush()
    // A second window: the Pushgateway must show the sum, not the last delta.
    requests.inc(5, { route: '/a', status: '200' })
    rt.observe(0.07, { route: '/a' })
    await metrics.flush()
    expect(errors).toEqual([])

    const families = parseExposition(await (gateway as RunningPushgateway).scrape())
    const group = { job: 'orders', instance: 'orders-1' }
    expect(sampleValue(families, 'http_requests_total', { ...group, route: '/a', status: '200' })).toBe(7)
    expect(sampleValue(families, 'http_requests_total', { ...group, route: '/b "quoted"', status: '500' })).toBe(1)
    expect(sampleValue(families, 'queue_depth', group)).toBe(7)
    expect(sampleValue(families, 'http_request_duration_seconds_bucket', { ...group, route: '/a', le: '0.005' })).toBe(1)
    expect(sampleValue(families, 'http_request_duration_seconds_bucket', { ...group, route: '/a', le: '+Inf' })).toBe(2)
    expect(sampleValue(families, 'http_request_duration_seconds_sum', { ...group, route: '/a' })).toBeCloseTo(0.073, 9)
    expect(families.get('http_requests_total')?.help).toBe('Requests served.')
    expect(sampleValue(families, 'push_failure_time_seconds', group)).toBe(0)
    await metrics.close()
  })

  it('isolates a metric the Pushgateway refuses: the others keep updating, the drop is reported', async () => {
    const url = (gateway as RunningPushgateway).url
    // Another group holds conflicting_total as a counter; it stays open for the whole test.
    const first = createMetrics(
      { processMetrics: false, flushIntervalMs: 3_600_000 },
      { emit: () => {}, logger: silent, clock: Date, service: 'orders', instanceId: 'orders-3', sinks: [pushgatewaySink({ url })] },
    )
    first.counter('conflicting_total', { help: 'h' }).inc(1)
    await first.flush()
    const failures: unknown[] = []
    const drops: unknown[] = []
    const metrics = createMetrics(
      { processMetrics: false, flushIntervalMs: 3_600_000 },
      {
        emit: (event, payload) => {
          if (event === 'metrics:exportFailed') failures.push(payload)
          if (event === 'metrics:dropped') drops.push(payload)
        },
        logger: silent,
        clock: Date,
        service: 'orders',
        instanceId: 'orders-2',
        sinks: [pushgatewaySink({ url })],
      },
    )
    // The same name with another type than the first group pushed: the gateway refuses it.
    metrics.gauge('conflicting_total', { help: 'h' }).set(1)
    const healthy = metrics.counter('healthy_total', { help: 'h' })
    healthy.inc(2)
    await metrics.flush()
    healthy.inc(3)
    await metrics.flush()
    expect(failures).toEqual([])
    expect(drops).toMatchObject([{ sink: 'pushgateway', batches: 0, points: 1, metrics: ['conflicting_total'] }])
    expect((drops[0] as { reason: string }).reason).toMatch(/^rejected by the Pushgateway: .*conflicting_total/)
    const families = parseExposition(await (gateway as RunningPushgateway).scrape())
    expect(sampleValue(families, 'healthy_total', { job: 'orders', instance: 'orders-2' })).toBe(5)
    await Promise.all([metrics.close(), first.close()])
  })

  it('deletes its group on close: three start/close cycles leave no group of a closed instance', async () => {
    const url = (gateway as RunningPushgateway).url
    const ids: string[] = []
    for (let cycle = 0; cycle < 3; cycle++) {
      const instanceId = `cycle-${cycle}-${Math.random().toString(36).slice(2)}`
      ids.push(instanceId)
      const metrics = createMetrics(
        { processMetrics: false, flushIntervalMs: 3_600_000 },
        { emit: () => {}, logger: silent, clock: Date, service: 'restarts', instanceId, sinks: [pushgatewaySink({ url })] },
      )
      metrics.counter('restarts_requests_total', { help: 'h' }).inc(1)
      await metrics.flush()
      const live = parseExposition(await (gateway as RunningPushgateway).scrape())
      expect(sampleValue(live, 'restarts_requests_total', { job: 'restarts', instance: instanceId })).toBe(1)
      await metrics.close()
    }
    const page = await (gateway as RunningPushgateway).scrape()
    for (const id of ids) expect(page).not.toContain(id)
    // Opt-out: the group stays.
    const kept = createMetrics(
      { processMetrics: false, flushIntervalMs: 3_600_000 },
      { emit: () => {}, logger: silent, clock: Date, service: 'restarts', instanceId: 'kept', sinks: [pushgatewaySink({ url, deleteOnClose: false })] },
    )
    kept.counter('restarts_requests_total', { help: 'h' }).inc(1)
    await kept.close()
    expect(await (gateway as RunningPushgateway).scrape()).toContain('instance="kept"')
  })
})

const silent = { debug() {}, info() {}, warn() {}, error() {} }
