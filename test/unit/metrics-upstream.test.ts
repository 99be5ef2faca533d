import { describe, expect, it } from 'vitest'
import {
  createMetrics,
  createUpstreamRecorder,
  UPSTREAM_DURATION,
  UPSTREAM_ERRORS,
  UPSTREAM_REQUESTS,
  type MetricsOptions,
} from '../../src/metrics/index.js'
import { parseExposition, sampleValue } from '../helpers/exposition-parser.js'

const metrics = (options: MetricsOptions = {}) =>
  createMetrics(
    { processMetrics: false, ...options },
    { emit: () => undefined, logger: { debug() {}, info() {}, warn() {}, error() {} }, clock: Date, service: 's', instanceId: 'i', sinks: [] },
  )

describe('upstream request metrics', () => {
  it('counts requests by status class, errors, and durations per service', () => {
    const m = metrics()
    const r = createUpstreamRecorder(m)
    r.record('payments', { status: 200 }, 12)
    r.record('payments', { status: 204 }, 3)
    r.record('payments', { status: 503 }, 40)
    r.record('payments', { status: 404 }, 1)
    r.record('payments', { error: true }, 5_000)
    r.record('payments', { status: 200, error: true }, 7)
    r.record('ledger', {}, 2)
    const f = parseExposition(m.render())
    const req = (service: string, cls: string) => sampleValue(f, UPSTREAM_REQUESTS, { service, status_class: cls })
    expect(req('payments', '2xx')).toBe(2)
    expect(req('payments', '4xx')).toBe(1)
    expect(req('payments', '5xx')).toBe(1)
    expect(req('payments', 'error')).toBe(2)
    expect(req('ledger', 'error')).toBe(1)
    expect(sampleValue(f, UPSTREAM_ERRORS, { service: 'payments' })).toBe(3)
    expect(sampleValue(f, `${UPSTREAM_DURATION}_count`, { service: 'payments' })).toBe(6)
    // Recorded in ms, observed in seconds.
    expect(sampleValue(f, `${UPSTREAM_DURATION}_bucket`, { service: 'payments', le: '0.01' })).toBe(3)
    expect(sampleValue(f, `${UPSTREAM_DURATION}_sum`, { service: 'payments' })).toBeCloseTo(5.063, 9)
  })

  it('maps odd statuses to "error" and never throws', () => {
    const m = metrics()
    const r = createUpstreamRecorder(m)
    expect(() => r.record('x', { status: 99 }, Number.NaN)).not.toThrow()
    expect(() => r.record('x', null as unknown as { status: number }, 1)).not.toThrow()
    expect(sampleValue(parseExposition(m.render()), UPSTREAM_REQUESTS, { service: 'x', status_class: 'error' })).toBe(1)
  })

  it('is a no-op when upstreamMetrics (or metrics) is off', () => {
    for (const options of [{ upstreamMetrics: false }, { enabled: false }]) {
      const m = metrics(options)
      createUpstreamRecorder(m).record('payments', { status: 200 }, 1)
      expect(m.render()).toBe('')
    }
  })
})
