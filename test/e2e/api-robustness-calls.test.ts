/**
 * Bad arguments to every public method of a live GovernanceClient on the test registry:
 * each fails with an InvalidArgumentError (or the documented class) naming the field; a
 * Promise-returning method rejects rather than throws; nothing hangs, nothing reaches the
 * registry, and the client keeps working afterwards. The metric recording path is the one
 * exception by design: it never throws, logs once and drops.
 */
import { get } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ClientClosedError,
  GovernanceClient,
  GovernanceError,
  InvalidArgumentError,
  NoAvailableInstanceError,
  ValidationError,
  type GovernanceClientOptions,
} from '../../src/index.js'
import { createGovernanceServer } from '../../src/server/index.js'
import { createTestRegistry, type TestRegistry } from '../../src/testing/index.js'
import { captureProcessFailures, expectFailure, recordingLogger, TimerTracker } from './api-robustness-helpers.js'

const failures = captureProcessFailures()

const long = 'x'.repeat(5_000)
const notASignal = { aborted: false, addEventListener: 'no' }
// Casts for calls a TypeScript user could not write but a JavaScript one can.
const any = (value: unknown): never => value as never
const loose = <T>(value: unknown): T => value as T

let registry: TestRegistry
let gov: GovernanceClient
const logger = recordingLogger()
const timers = new TimerTracker()

beforeAll(async () => {
  timers.start()
  registry = createTestRegistry()
  registry.addInstance({ service: 'payments', id: 'pay-1', address: '127.0.0.1', port: 9, zone: 'z1' })
  registry.setConfig('orders', { limit: 5 })
  gov = new GovernanceClient({
    backend: registry.backend(),
    service: { name: 'orders', port: 8080, address: '127.0.0.1' },
    heartbeatIntervalMs: 200,
    requestTimeoutMs: 1_000,
    registerTimeoutMs: 1_000,
    logger,
    metrics: { processMetrics: false, flushIntervalMs: 60_000 },
  })
  await gov.register()
  // A warm cache: the bad calls below also meet the hot paths, not only cold misses.
  await gov.discover('payments')
})

afterAll(async () => {
  await gov.close()
  await registry.close()
  const left = timers.stop()
  expect(left, 'timers left behind after close()').toEqual([])
})

type Call = readonly [label: string, call: () => unknown, field: RegExp]

function table(calls: readonly Call[], mode: 'async' | 'sync' = 'async'): void {
  it.each(calls)('%s', async (label, call, field) => {
    const callsBefore = registry.calls.length
    await expectFailure(label, call, field, { mode })
    // A bad argument fails before any network call.
    expect(registry.calls.slice(callsBefore).filter((c) => c.op !== 'renew'), `${label}: reached the registry`).toEqual([])
  })
}

describe('registration calls', () => {
  table([
    ['register("yes")', () => gov.register(any('yes')), /options/],
    ['register(null)', () => gov.register(any(null)), /options/],
    ['register(42)', () => gov.register(any(42)), /options/],
    ["register({ wait: 'yes' })", () => gov.register(any({ wait: 'yes' })), /wait/],
    ['register({ wait: null })', () => gov.register(any({ wait: null })), /wait/],
    ["register({ signal: 'x' })", () => gov.register(any({ signal: 'x' })), /signal/],
    ['register({ signal: fake })', () => gov.register(any({ signal: notASignal })), /signal/],
    ['register({ wiat: false }) (unknown option)', () => gov.register(any({ wiat: false })), /wiat/],
    ['deregister(null)', () => gov.deregister(any(null)), /options/],
    ['deregister({ signal: 5 })', () => gov.deregister(any({ signal: 5 })), /signal/],
    ["setStatus('WHATEVER')", () => gov.setStatus(any('WHATEVER')), /status/],
    ["setStatus('up')", () => gov.setStatus(any('up')), /status/],
    ['setStatus(42)', () => gov.setStatus(any(42)), /status/],
    ['setStatus(null)', () => gov.setStatus(any(null)), /status/],
    ['setStatus()', () => loose<() => Promise<void>>(gov.setStatus.bind(gov))(), /status/],
    ["setStatus('UP', null)", () => gov.setStatus('UP', any(null)), /options/],
    ["setStatus('UP', { signal: 'x' })", () => gov.setStatus('UP', any({ signal: 'x' })), /signal/],
  ])

  it('register() without a service is a clear error, and so is setStatus()', async () => {
    const bare = new GovernanceClient({ backend: registry.backend(), logger: false, metrics: false })
    try {
      await expectFailure('register() without service', () => bare.register(), /service/)
      await expectFailure('setStatus() without service', () => bare.setStatus('DOWN'), /service/)
    } finally {
      await bare.close()
    }
  })

  it('is still registered and heartbeating after all that', async () => {
    expect(gov.registrationState).toBe('registered')
    expect(gov.status).toBe('UP')
    const before = registry.heartbeats.length
    await expect.poll(() => registry.heartbeats.length, { timeout: 5_000 }).toBeGreaterThan(before)
  })
})

describe('discover() and pick()', () => {
  const names: [string, unknown][] = [
    ['empty', ''],
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { name: 'payments' }],
    ['5,000 chars', long],
    ['with a space', 'pay ments'],
    ['a path', '../payments'],
    ['with a slash', 'a/b'],
  ]
  table(names.map(([what, name]): Call => [`discover(${what})`, () => gov.discover(any(name)), /service/]))
  table(names.map(([what, name]): Call => [`pick(${what})`, () => gov.pick(any(name)), /service/]))

  const options: [string, unknown, RegExp][] = [
    ['a string', 'fresh', /options/],
    ['null', null, /options/],
    ['maxStalenessMs NaN', { maxStalenessMs: Number.NaN }, /maxStalenessMs/],
    ['maxStalenessMs negative', { maxStalenessMs: -1 }, /maxStalenessMs/],
    ["maxStalenessMs '5'", { maxStalenessMs: '5' }, /maxStalenessMs/],
    ['staleIfErrorMs NaN', { staleIfErrorMs: Number.NaN }, /staleIfErrorMs/],
    ["status 'WHATEVER'", { status: 'WHATEVER' }, /status/],
    ["status ['WHATEVER']", { status: ['WHATEVER'] }, /status/],
    ["tags 'a'", { tags: 'a' }, /tags/],
    ['metadata with a number', { metadata: { a: 1 } }, /metadata/],
    ["filter 'x'", { filter: 'x' }, /filter/],
    ['zone 42', { zone: 42 }, /zone/],
    ["zone ''", { zone: '' }, /zone/],
    ["signal 'x'", { signal: 'x' }, /signal/],
    ['signal fake', { signal: notASignal }, /signal/],
    ['unknown option', { stratgey: 'random' }, /stratgey/],
  ]
  table(options.map(([what, o, field]): Call => [`discover('payments', ${what})`, () => gov.discover('payments', any(o)), field]))
  table(options.map(([what, o, field]): Call => [`pick('payments', ${what})`, () => gov.pick('payments', any(o)), field]))
  table([
    ["pick strategy 'fastest'", () => gov.pick('payments', any({ strategy: 'fastest' })), /strategy/],
    ['pick strategy 42', () => gov.pick('payments', any({ strategy: 42 })), /strategy/],
    ['pick strategy {}', () => gov.pick('payments', any({ strategy: {} })), /strategy/],
    ['pick strategy null', () => gov.pick('payments', any({ strategy: null })), /strategy/],
  ])

  it('still answers after all that, and a balancer or filter that throws does not break it', async () => {
    expect((await gov.discover('payments')).map((i) => i.id)).toEqual(['pay-1'])
    expect((await gov.pick('payments')).id).toBe('pay-1')
    const boom = (): never => {
      throw new Error('boom')
    }
    // A throwing filter excludes the instance; a throwing balancer is logged and answers nothing.
    await expect(gov.pick('payments', { filter: boom })).rejects.toBeInstanceOf(NoAvailableInstanceError)
    await expect(gov.pick('payments', { strategy: { name: 'bad', build: boom } })).rejects.toBeInstanceOf(GovernanceError)
    expect((await gov.discover('payments', { filter: boom })).length).toBe(0)
    // Unknown services are not bad input: a clean NoAvailableInstanceError.
    await expect(gov.pick('no-such-service')).rejects.toBeInstanceOf(NoAvailableInstanceError)
  })
})

describe('gov.fetch()', () => {
  table([
    ["fetch('not a url')", () => gov.fetch('not a url'), /url|URL/],
    ["fetch('http://')", () => gov.fetch('http://'), /url|URL/],
    ["fetch('')", () => gov.fetch(''), /url|URL/],
    ['fetch(42)', () => gov.fetch(any(42)), /url|URL|input/],
    ['fetch(null)', () => gov.fetch(any(null)), /url|URL|input/],
    ['fetch()', () => loose<() => Promise<unknown>>(gov.fetch.bind(gov))(), /url|URL|input/],
    ['fetch({})', () => gov.fetch(any({})), /url|URL|input/],
    ["fetch(url, 'x')", () => gov.fetch('http://payments/x', any('x')), /init/],
    ["fetch(url, { signal: 'x' })", () => gov.fetch('http://payments/x', any({ signal: 'x' })), /signal/],
  ])
})

describe('gov.config', () => {
  const keys: [string, unknown][] = [
    ['empty', ''],
    ['a number', 42],
    ['null', null],
    ['an object', { key: 'orders' }],
    ['5,000 chars', long],
    ['with a space', 'my key'],
    ['with a slash', 'a/b'],
  ]
  const fn = (): void => {}
  table(keys.map(([what, key]): Call => [`get(${what})`, () => gov.config.get(any(key)), /key/]))
  table(keys.map(([what, key]): Call => [`put(${what}, 1)`, () => gov.config.put(any(key), 1), /key/]))
  table(keys.map(([what, key]): Call => [`delete(${what})`, () => gov.config.delete(any(key)), /key/]))
  table(keys.map(([what, key]): Call => [`watch(${what}, fn)`, () => gov.config.watch(any(key), fn), /key/]), 'sync')
  table(keys.map(([what, key]): Call => [`changes(${what})`, () => gov.config.changes(any(key)), /key/]), 'sync')

  const circular: Record<string, unknown> = {}
  circular.self = circular
  table([
    ["get('orders', 'x')", () => gov.config.get('orders', any('x')), /options/],
    ["get('orders', null)", () => gov.config.get('orders', any(null)), /options/],
    ['get schema 42', () => gov.config.get('orders', any({ schema: 42 })), /schema/],
    ['get schema {}', () => gov.config.get('orders', any({ schema: {} })), /schema/],
    ["get signal 'x'", () => gov.config.get('orders', any({ signal: 'x' })), /signal/],
    ['get unknown option', () => gov.config.get('orders', any({ shema: fn })), /shema/],
    ['put undefined', () => gov.config.put('orders', undefined), /value/],
    ['put a function', () => gov.config.put('orders', fn), /value/],
    ['put a symbol', () => gov.config.put('orders', Symbol('s')), /value/],
    ['put a bigint', () => gov.config.put('orders', 1n), /value|serial/],
    ['put circular', () => gov.config.put('orders', circular), /value|serial/],
    ['put NaN', () => gov.config.put('orders', Number.NaN), /value|NaN|finite/],
    ['put { limit: Infinity }', () => gov.config.put('orders', { limit: Number.POSITIVE_INFINITY }), /limit|finite/],
    ['put a Map', () => gov.config.put('orders', new Map([['a', 1]])), /Map|value/],
    ['put 600 KiB', () => gov.config.put('orders', 'x'.repeat(600 * 1024)), /bytes|limit/],
    ["put ifVersion 'abc'", () => gov.config.put('orders', 1, { ifVersion: 'abc' }), /ifVersion/],
    ['put ifVersion 5', () => gov.config.put('orders', 1, any({ ifVersion: 5 })), /ifVersion/],
    ["put ifVersion '-1'", () => gov.config.put('orders', 1, { ifVersion: '-1' }), /ifVersion/],
    ['put options null', () => gov.config.put('orders', 1, any(null)), /options/],
    ["put signal 'x'", () => gov.config.put('orders', 1, any({ signal: 'x' })), /signal/],
    ['put unknown option', () => gov.config.put('orders', 1, any({ ifversion: '1' })), /ifversion/],
    ["delete ifVersion 'x'", () => gov.config.delete('orders', { ifVersion: 'x' }), /ifVersion/],
    ['delete options null', () => gov.config.delete('orders', any(null)), /options/],
    ['delete signal 1', () => gov.config.delete('orders', any({ signal: 1 })), /signal/],
  ])
  table(
    [
      ["watch('orders', 'fn')", () => gov.config.watch('orders', any('fn')), /callback/],
      ["watch('orders', null)", () => gov.config.watch('orders', any(null)), /callback/],
      ["watch('orders')", () => loose<(k: string) => unknown>(gov.config.watch.bind(gov.config))('orders'), /callback/],
      ['watch schema "x"', () => gov.config.watch('orders', fn, any({ schema: 'x' })), /schema/],
      ['watch options null', () => gov.config.watch('orders', fn, any(null)), /options/],
      ['watch options a string', () => gov.config.watch('orders', fn, any('x')), /options/],
      ["changes signal 'x'", () => gov.config.changes('orders', any({ signal: 'x' })), /signal/],
      ['changes options null', () => gov.config.changes('orders', any(null)), /options/],
      ['changes schema 5', () => gov.config.changes('orders', any({ schema: 5 })), /schema/],
    ],
    'sync',
  )

  it('a schema that misbehaves is a ValidationError, not a TypeError', async () => {
    const garbage = [
      { '~standard': { version: 1, vendor: 'x', validate: () => undefined } },
      { '~standard': { version: 1, vendor: 'x', validate: () => null } },
      { '~standard': { version: 1, vendor: 'x', validate: () => ({ issues: 'bad' }) } },
      { '~standard': { version: 1, vendor: 'x', validate: () => Promise.resolve(42) } },
      {
        '~standard': {
          version: 1,
          vendor: 'x',
          validate: () => {
            throw 'a string' // eslint-disable-line no-throw-literal
          },
        },
      },
      () => {
        throw null // eslint-disable-line no-throw-literal
      },
    ]
    for (const [i, schema] of garbage.entries()) {
      await expectFailure(`schema #${i}`, () => gov.config.get('orders', any({ schema })), /orders/, { cls: ValidationError })
    }
  })

  it('a watch callback that throws is logged, and the watch goes on', async () => {
    const seen: unknown[] = []
    const stopBad = gov.config.watch('orders', () => {
      throw new Error('callback bug')
    })
    const stopGood = gov.config.watch('orders', (value) => void seen.push(value))
    registry.setConfig('orders', { limit: 6 })
    await expect.poll(() => seen.at(-1), { timeout: 5_000 }).toEqual({ limit: 6 })
    stopBad()
    stopGood()
    // Calling an unsubscribe twice is harmless.
    stopBad()
    expect(logger.lines.some((l) => /callback bug|threw/.test(`${l.message} ${String((l.fields as { error?: Error })?.error?.message)}`))).toBe(true)
  })

  it('still reads and writes after all that', async () => {
    expect((await gov.config.get('orders'))?.value).toEqual({ limit: 6 })
    const written = await gov.config.put('orders', { limit: 7 })
    expect(written.value).toEqual({ limit: 7 })
    expect(await gov.config.delete('orders', { ifVersion: written.version })).toBe(true)
  })
})

describe('gov.metrics: creating instruments', () => {
  table(
    [
      ["counter('')", () => gov.metrics.counter(''), /metric name/],
      ["counter('bad name')", () => gov.metrics.counter('bad name'), /metric name/],
      ["counter('9lives')", () => gov.metrics.counter('9lives'), /metric name/],
      ['counter(42)', () => gov.metrics.counter(any(42)), /metric name/],
      ['counter(null)', () => gov.metrics.counter(any(null)), /metric name/],
      ['counter(5,000-char invalid name)', () => gov.metrics.counter(`-${long}`), /metric name/],
      ["counter('ok_total', 'x')", () => gov.metrics.counter('ok_total', any('x')), /options/],
      ["counter('ok_total', null)", () => gov.metrics.counter('ok_total', any(null)), /options/],
      ['counter help 42', () => gov.metrics.counter('ok_total', any({ help: 42 })), /help/],
      ['counter help 5,000 chars', () => gov.metrics.counter('ok_total', { help: long }), /help/],
      ['counter maxSeries 0', () => gov.metrics.counter('ok_total', { maxSeries: 0 }), /maxSeries/],
      ['counter maxSeries NaN', () => gov.metrics.counter('ok_total', { maxSeries: Number.NaN }), /maxSeries/],
      ['counter unknown option', () => gov.metrics.counter('ok_total', any({ hlep: 'x' })), /hlep/],
      ["histogram('h_ms', null)", () => gov.metrics.histogram('h_ms', any(null)), /options/],
      ["histogram('h_ms', 'x')", () => gov.metrics.histogram('h_ms', any('x')), /options/],
      ['histogram buckets descending', () => gov.metrics.histogram('h_ms', { buckets: [3, 1] }), /buckets/],
      ["histogram buckets 'x'", () => gov.metrics.histogram('h_ms', any({ buckets: 'x' })), /buckets/],
      ['histogram buckets [NaN]', () => gov.metrics.histogram('h_ms', { buckets: [Number.NaN] }), /buckets/],
      ['histogram buckets []', () => gov.metrics.histogram('h_ms', { buckets: [] }), /buckets/],
      ['gauge over a counter', () => (gov.metrics.counter('taken_total'), gov.metrics.gauge('taken_total')), /taken_total/],
      ['histogram changing buckets', () => (gov.metrics.histogram('lat_ms', { buckets: [1, 2] }), gov.metrics.histogram('lat_ms', { buckets: [1, 3] })), /buckets/],
      ["counter over a histogram's series", () => (gov.metrics.histogram('rt_ms'), gov.metrics.counter('rt_ms_count')), /rt_ms_count/],
      ["bind('x')", () => gov.metrics.counter('bound_total').bind(any('x')), /labels/],
      ['bind(bad label name)', () => gov.metrics.counter('bound_total').bind({ 'bad-name': 'a' }), /bad-name/],
      ['bind(object value)', () => gov.metrics.counter('bound_total').bind(any({ a: {} })), /"a"/],
      ['bind(le on a histogram)', () => gov.metrics.histogram('bound_ms').bind({ le: '1' }), /le/],
      ['bind(reserved __name)', () => gov.metrics.counter('bound_total').bind({ __name: 'a' }), /__name/],
    ],
    'sync',
  )
  table([
    ["flush('x')", () => gov.metrics.flush(any('x')), /options/],
    ['flush(null)', () => gov.metrics.flush(any(null)), /options/],
    ["flush({ signal: 'x' })", () => gov.metrics.flush(any({ signal: 'x' })), /signal/],
    ['flush({ sigal }) (unknown option)', () => gov.metrics.flush(any({ sigal: new AbortController().signal })), /sigal/],
  ])
})

describe('gov.metrics: the recording path never throws', () => {
  it('drops bad values and labels, logs once per metric, and sends only the good recordings', async () => {
    const counter = gov.metrics.counter('hot_total')
    const gauge = gov.metrics.gauge('hot_gauge')
    const histogram = gov.metrics.histogram('hot_ms', { buckets: [1, 10] })
    const bound = counter.bind({ route: '/a' })
    const boundGauge = gauge.bind({})
    const boundHistogram = histogram.bind({})
    const badValues = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '1', null, {}, 1n, Symbol('v')]
    const badLabels = ['x', 42, [1], { 'bad-name': 'a' }, { a: {} }, { a: null }, { a: Number.NaN }, { __x: 'a' }, { a: Symbol('s') }, { a: 1n }]
    const warnsBefore = logger.lines.filter((l) => l.level === 'warn').length
    for (let round = 0; round < 3; round++) {
      for (const v of badValues) {
        expect(() => counter.inc(any(v))).not.toThrow()
        expect(() => counter.add(any(v))).not.toThrow()
        expect(() => gauge.set(any(v))).not.toThrow()
        expect(() => gauge.inc(any(v))).not.toThrow()
        expect(() => gauge.dec(any(v))).not.toThrow()
        expect(() => histogram.observe(any(v))).not.toThrow()
        expect(() => bound.inc(any(v))).not.toThrow()
        expect(() => boundGauge.set(any(v))).not.toThrow()
        expect(() => boundHistogram.observe(any(v))).not.toThrow()
      }
      expect(() => counter.inc(-1)).not.toThrow()
      for (const labels of badLabels) {
        expect(() => counter.inc(1, any(labels))).not.toThrow()
        expect(() => gauge.set(1, any(labels))).not.toThrow()
        expect(() => histogram.observe(1, any(labels))).not.toThrow()
      }
      expect(() => histogram.observe(1, { le: '1' })).not.toThrow()
      expect(() => counter.inc(1, any(null))).not.toThrow()
    }
    // The good recordings, including a 5,000-character label value (valid, if unwise).
    counter.inc(2, { route: '/b' })
    bound.inc(3)
    gauge.set(4)
    histogram.observe(5)
    counter.inc(1, { route: long })
    const warns = logger.lines.filter((l) => l.level === 'warn').slice(warnsBefore)
    // At most one warning per metric and kind of problem (bad value, bad labels), never one per call.
    expect(warns.length).toBeGreaterThan(0)
    expect(warns.length).toBeLessThanOrEqual(6)
    for (const w of warns) expect(w.message.length).toBeLessThan(1_000)

    registry.clearRecords()
    await gov.metrics.flush()
    const points = registry.metricPoints().filter((p) => p.name.startsWith('hot_'))
    const summary = points.map((p) => [p.name, p.labels, 'value' in p ? p.value : (p as { count: number }).count])
    expect(summary).toEqual(
      expect.arrayContaining([
        ['hot_total', { route: '/b' }, 2],
        ['hot_total', { route: '/a' }, 3],
        ['hot_total', { route: long }, 1],
        ['hot_gauge', {}, 4],
        ['hot_ms', {}, 1],
      ]),
    )
    // Nothing of the bad recordings arrived: no other series, and the sums are the good ones only.
    expect(points.length).toBe(5)
  })
})

describe('gov.metrics: values that overflow', () => {
  it('a series that adds up to Infinity is not sent, and does not take the rest of the batch down with it', async () => {
    const server = await createGovernanceServer({ port: 0 })
    const overflowLogger = recordingLogger()
    const client = new GovernanceClient({
      server: server.url,
      service: { name: 'overflow', port: 8080, address: '127.0.0.1' },
      logger: overflowLogger,
      metrics: { processMetrics: false, flushIntervalMs: 60_000 },
    })
    try {
      const exportFailed: unknown[] = []
      client.on('metrics:exportFailed', (e) => void exportFailed.push(e.error))
      client.on('metrics:dropped', (e) => void exportFailed.push(e))
      client.metrics.gauge('huge_gauge').set(Number.MAX_VALUE)
      client.metrics.gauge('huge_gauge').inc(Number.MAX_VALUE)
      client.metrics.histogram('huge_ms', { buckets: [1] }).observe(Number.MAX_VALUE)
      client.metrics.histogram('huge_ms').observe(Number.MAX_VALUE)
      client.metrics.counter('fine_total').inc(3)
      await client.metrics.flush()
      expect(exportFailed).toEqual([])
      // Read back with no pooled connection, so no keep-alive timer outlives the test.
      const stored = await new Promise<string>((resolve, reject) => {
        get(`${server.url}/v1/metrics/overflow`, { agent: false }, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => resolve(text))
        }).on('error', reject)
      })
      expect(stored).toContain('fine_total')
      expect(stored).not.toContain('huge_gauge')
      expect(overflowLogger.lines.filter((l) => /Infinity/.test(l.message)).length).toBe(2)
      // Logged once per metric, however many windows it stays infinite.
      await client.metrics.flush()
      expect(overflowLogger.lines.filter((l) => /Infinity/.test(l.message)).length).toBe(2)
    } finally {
      await client.close()
      await server.close()
    }
  })
})

describe('events and callbacks', () => {
  it('on() with a listener that is not a function, or an unknown event, is an InvalidArgumentError', async () => {
    await expectFailure('on(event, "fn")', () => gov.on('registry:registered', any('fn')), /listener/, { mode: 'sync' })
    await expectFailure('once(event, null)', () => gov.once('error', any(null)), /listener/, { mode: 'sync' })
    await expectFailure("on('registry:registred')", () => gov.on(any('registry:registred'), () => {}), /registry:registred/, { mode: 'sync' })
    await expectFailure('addListener(42)', () => gov.addListener(any(42), () => {}), /event/, { mode: 'sync' })
  })

  it('a listener that throws is logged; the loop that emitted goes on', async () => {
    const throwing = (): never => {
      throw new Error('listener bug')
    }
    gov.on('discovery:changed', throwing)
    gov.on('registry:renewed', throwing)
    registry.addInstance({ service: 'payments', id: 'pay-2', address: '127.0.0.1', port: 10 })
    await expect.poll(async () => (await gov.discover('payments')).length, { timeout: 5_000 }).toBe(2)
    const renewed = registry.heartbeats.length
    await expect.poll(() => registry.heartbeats.length, { timeout: 5_000 }).toBeGreaterThan(renewed + 1)
    gov.off('discovery:changed', throwing)
    gov.off('registry:renewed', throwing)
    expect(logger.lines.some((l) => l.level === 'error' && /listener/.test(l.message))).toBe(true)
    expect(gov.registrationState).toBe('registered')
  })

  it('a health check that throws, hangs or answers nonsense reports DOWN, never crashes', async () => {
    const checks: (() => unknown)[] = [
      () => 'WHATEVER',
      () => {
        throw new Error('check bug')
      },
      () => Promise.reject(new Error('async check bug')),
      () => new Promise(() => {}),
      () => null,
    ]
    for (const [i, healthCheck] of checks.entries()) {
      const client = new GovernanceClient({
        backend: registry.backend(),
        service: { name: 'checked', port: 8000 + i, address: '127.0.0.1', id: `checked-${i}` },
        heartbeatIntervalMs: 100,
        healthCheck: any(healthCheck),
        logger: false,
        metrics: false,
      } satisfies GovernanceClientOptions)
      try {
        await client.register()
        expect(client.status, `check #${i}`).toBe('DOWN')
        expect(registry.held('checked', `checked-${i}`)?.instance.status, `check #${i}`).toBe('DOWN')
      } finally {
        await client.close()
      }
    }
  })
})

describe('after close()', () => {
  it('every call is a ClientClosedError, and close() is idempotent', async () => {
    const client = new GovernanceClient({ backend: registry.backend(), logger: false, metrics: { processMetrics: false } })
    await client.close()
    await Promise.all([client.close(), client.close()])
    for (const [label, call] of [
      ['register', () => client.register()],
      ['discover', () => client.discover('payments')],
      ['pick', () => client.pick('payments')],
      ['fetch', () => client.fetch('http://payments/')],
      ['config.get', () => client.config.get('orders')],
      ['config.put', () => client.config.put('orders', 1)],
      ['metrics.flush', () => client.metrics.flush()],
    ] as const) {
      await expectFailure(`${label} after close`, call, /close/, { cls: ClientClosedError })
    }
    expect(() => client.config.watch('orders', () => {})).toThrow(ClientClosedError)
    // Recording after close is harmless.
    expect(() => client.metrics.counter('late_total').inc()).not.toThrow()
  })

  it('saw no process-level failure', () => {
    expect(failures).toEqual([])
    expect(InvalidArgumentError).toBeDefined()
  })
})
