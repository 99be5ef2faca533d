import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/errors.js'
import { DEFAULT_LATENCY_BUCKETS_SECONDS, resolveMetricsOptions, type MetricsOptions } from '../../src/metrics/index.js'

describe('resolveMetricsOptions', () => {
  it('fills in the documented defaults', () => {
    expect(resolveMetricsOptions(undefined)).toEqual({
      enabled: true,
      flushIntervalMs: 10_000,
      maxPendingBatches: 100,
      maxSeriesPerInstrument: 2_000,
      processMetrics: true,
      upstreamMetrics: true,
      defaultBuckets: DEFAULT_LATENCY_BUCKETS_SECONDS,
      sinks: undefined,
      exportTimeoutMs: 10_000,
      retry: { minDelayMs: 1_000, maxDelayMs: 30_000 },
    })
  })

  const bad: [string, unknown, RegExp][] = [
    ['enabled', 'yes', /^metrics\.enabled must be true or false, got "yes"/],
    ['flushIntervalMs', 0, /^metrics\.flushIntervalMs must be a positive integer \(ms\), got 0/],
    ['flushIntervalMs', 1.5, /metrics\.flushIntervalMs/],
    ['maxPendingBatches', -1, /metrics\.maxPendingBatches/],
    ['maxSeriesPerInstrument', '10', /metrics\.maxSeriesPerInstrument/],
    ['processMetrics', 1, /metrics\.processMetrics/],
    ['upstreamMetrics', null, /metrics\.upstreamMetrics/],
    ['defaultBuckets', [3, 2], /metrics\.defaultBuckets must be strictly ascending/],
    ['defaultBuckets', [1, Number.NaN], /metrics\.defaultBuckets\[1\]/],
    ['sinks', {}, /metrics\.sinks must be an array/],
    ['sinks', [{ name: 'x' }], /metrics\.sinks\[0\] must have an export/],
    ['sinks', [{ name: '', export: () => undefined }], /metrics\.sinks\[0\]\.name/],
    ['exportTimeoutMs', Infinity, /metrics\.exportTimeoutMs/],
    ['retry', 5, /metrics\.retry must be an object/],
  ]
  for (const [option, value, message] of bad) {
    it(`names metrics.${option} when it is ${JSON.stringify(value) ?? String(value)}`, () => {
      const run = (): unknown => resolveMetricsOptions({ [option]: value } as MetricsOptions)
      expect(run).toThrow(InvalidArgumentError)
      expect(run).toThrow(message)
    })
  }

  it('refuses two sinks of one name and a backoff floor above its ceiling', () => {
    const s = { name: 'a', export: async () => undefined }
    expect(() => resolveMetricsOptions({ sinks: [s, { ...s }] })).toThrow(/metrics\.sinks\[1\]\.name must be unique/)
    expect(() => resolveMetricsOptions({ retry: { minDelayMs: 10, maxDelayMs: 5 } })).toThrow(/metrics\.retry\.minDelayMs/)
  })
})
