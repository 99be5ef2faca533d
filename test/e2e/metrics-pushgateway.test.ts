/**
 * A real Prometheus Pushgateway receives the metrics and shows them on its /metrics.
 * Skipped with a notice when the binary is missing, except in CI, where it must run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RequestRejectedError } from '../../src/errors.js'
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
    const rt = metrics.histogram('http_request_duration_ms', { help: 'Response time.', buckets: [5, 50] })
    requests.inc(2, { route: '/a', status: '200' })
    requests.inc(1, { route: '/b "quoted"', status: '500' })
    rt.observe(3, { route: '/a' })
    metrics.gauge('queue_depth').set(7)
    await metrics.flush()
    // A second window: the Pushgateway must show the sum, not the last delta.
    requests.inc(5, { route: '/a', status: '200' })
    rt.observe(70, { route: '/a' })
    await metrics.flush()
    expect(errors).toEqual([])

    const families = parseExposition(await (gateway as RunningPushgateway).scrape())
    const group = { job: 'orders', instance: 'orders-1' }
    expect(sampleValue(families, 'http_requests_total', { ...group, route: '/a', status: '200' })).toBe(7)
    expect(sampleValue(families, 'http_requests_total', { ...group, route: '/b "quoted"', status: '500' })).toBe(1)
    expect(sampleValue(families, 'queue_depth', group)).toBe(7)
    expect(sampleValue(families, 'http_request_duration_ms_bucket', { ...group, route: '/a', le: '5' })).toBe(1)
    expect(sampleValue(families, 'http_request_duration_ms_bucket', { ...group, route: '/a', le: '+Inf' })).toBe(2)
    expect(sampleValue(families, 'http_request_duration_ms_sum', { ...group, route: '/a' })).toBe(73)
    expect(families.get('http_requests_total')?.help).toBe('Requests served.')
    expect(sampleValue(families, 'push_failure_time_seconds', group)).toBe(0)
    await metrics.close()
  })

  it('reports a push the Pushgateway refuses as a failed, dropped export', async () => {
    const url = (gateway as RunningPushgateway).url
    // This test's own first group: a counter (it does not lean on what the test above pushed).
    const first = createMetrics(
      { processMetrics: false, flushIntervalMs: 3_600_000 },
      { emit: () => {}, logger: { debug() {}, info() {}, warn() {}, error() {} }, clock: Date, service: 'orders', instanceId: 'orders-3', sinks: [pushgatewaySink({ url })] },
    )
    first.counter('conflicting_total').inc(1)
    await first.flush()
    await first.close()
    const failures: unknown[] = []
    const drops: unknown[] = []
    const metrics = createMetrics(
      { processMetrics: false, flushIntervalMs: 3_600_000 },
      {
        emit: (event, payload) => {
          if (event === 'metrics:exportFailed') failures.push(payload)
          if (event === 'metrics:dropped') drops.push(payload)
        },
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        clock: Date,
        service: 'orders',
        instanceId: 'orders-2',
        // The same metric name with another type than the first group pushed: refused (400).
        sinks: [pushgatewaySink({ url })],
      },
    )
    metrics.gauge('conflicting_total').set(1)
    await expect(metrics.flush()).rejects.toBeInstanceOf(RequestRejectedError)
    expect(failures).toHaveLength(1)
    expect(drops).toMatchObject([{ reason: 'rejected', batches: 1 }])
    await metrics.close()
  })
})
