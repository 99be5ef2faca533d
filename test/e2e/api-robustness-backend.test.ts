/**
 * The Backend seam is open to users' own backends ("a server of their own"), so what a
 * backend hands back is server input too: a malformed snapshot, lease, renewal or config
 * entry, a non-Error thrown, a synchronous throw, or a call that never settles and ignores
 * its signal. Through the real GovernanceClient each must end as a GovernanceError with a
 * clear message, within the call's deadline, without a tight retry loop, and close() must
 * still finish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  GovernanceClient,
  GovernanceError,
  InvalidArgumentError,
  ProtocolError,
  TimeoutError,
  type GovernanceClientOptions,
} from '../../src/index.js'
import type { Backend } from '../../src/backends/index.js'
import type { GovernanceClientCommonOptions } from '../../src/options.js'
import { createTestRegistry, type TestRegistry } from '../../src/testing/index.js'
import { captureProcessFailures, describeShort, expectFailure, failureOf, recordingLogger, TimerTracker } from './api-robustness-helpers.js'

captureProcessFailures()

const REQUEST_TIMEOUT_MS = 200
const never = (): Promise<never> => new Promise<never>(() => {})

let registry: TestRegistry
beforeAll(() => {
  registry = createTestRegistry()
  registry.addInstance({ service: 'payments', id: 'pay-1', address: '127.0.0.1', port: 9 })
  registry.setConfig('orders', { limit: 5 })
})
afterAll(() => registry.close())

/** The test registry's backend with some methods replaced; no push, so reads go through resolve/getConfig. */
function backendWith(overrides: Partial<Record<keyof Backend, unknown>>): Backend {
  const base = registry.backend({ push: false })
  return { ...base, ...overrides } as Backend
}

function clientOn(backend: Backend, extra: Partial<GovernanceClientCommonOptions> = {}): GovernanceClient {
  return new GovernanceClient({
    backend,
    service: { name: 'orders', port: 8080, address: '127.0.0.1' },
    heartbeatIntervalMs: 100,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    registerTimeoutMs: 600,
    logger: false,
    metrics: { processMetrics: false, flushIntervalMs: 60_000, exportTimeoutMs: 300 },
    discovery: { pollIntervalMs: 100, recoveryBackoff: { minDelayMs: 20, maxDelayMs: 50 } },
    ...extra,
  })
}

/** Runs `check` on a fresh client and closes it, asserting close() finishes and leaves no timer. */
async function withClient(backend: Backend, check: (gov: GovernanceClient) => Promise<void>, extra?: Partial<GovernanceClientCommonOptions>): Promise<void> {
  const timers = new TimerTracker()
  timers.start()
  const gov = clientOn(backend, extra)
  try {
    await check(gov)
  } finally {
    const closed = await failureOf('close()', () => gov.close().then(() => Promise.reject(new Error('closed'))), 2_000)
    expect((closed.error as Error).message, 'close() must finish').toBe('closed')
    expect(timers.stop(), 'timers left behind').toEqual([])
  }
}

const instance = { id: 'pay-1', service: 'payments', address: '127.0.0.1', port: 9, status: 'UP', metadata: {}, tags: [], weight: 1 }
const badSnapshots: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['a string', 'payments'],
  ['instances not an array', { service: 'payments', instances: {}, revision: '1' }],
  ['revision a number', { service: 'payments', instances: [], revision: 1 }],
  ['a null instance', { service: 'payments', instances: [null], revision: '1' }],
  ['an instance without address', { service: 'payments', instances: [{ ...instance, address: undefined }], revision: '1' }],
  ['port a string', { service: 'payments', instances: [{ ...instance, port: '9' }], revision: '1' }],
  ['port NaN', { service: 'payments', instances: [{ ...instance, port: Number.NaN }], revision: '1' }],
  ['status unknown', { service: 'payments', instances: [{ ...instance, status: 'WHATEVER' }], revision: '1' }],
  ['tags not an array', { service: 'payments', instances: [{ ...instance, tags: 'a' }], revision: '1' }],
  ['metadata null', { service: 'payments', instances: [{ ...instance, metadata: null }], revision: '1' }],
  ['weight a string', { service: 'payments', instances: [{ ...instance, weight: '1' }], revision: '1' }],
  ['id missing', { service: 'payments', instances: [{ ...instance, id: undefined }], revision: '1' }],
]

describe('a backend answering garbage to resolve()', () => {
  it.each(badSnapshots)('%s: discover() and pick() reject with a ProtocolError', async (_label, snapshot) => {
    await withClient(backendWith({ resolve: async () => snapshot }), async (gov) => {
      const d = await expectFailure('discover', () => gov.discover('payments'), /payments/, { cls: ProtocolError })
      expect(d.message).toMatch(/malformed|must be|instance/)
      await expectFailure('pick', () => gov.pick('payments'), /payments/, { cls: ProtocolError })
    })
  })

  it('a resolve() that never settles and ignores its signal: discover() times out, close() finishes', async () => {
    await withClient(backendWith({ resolve: never }), async (gov) => {
      const outcome = await failureOf('discover', () => gov.discover('payments'), 2_000)
      expect(outcome.error, describeShort(outcome.error)).toBeInstanceOf(TimeoutError)
      expect(outcome.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1_000)
    })
  })

  it('a resolve() that throws synchronously, or throws a non-Error', async () => {
    for (const resolve of [
      () => {
        throw new Error('sync bug')
      },
      () => Promise.reject('a string'), // eslint-disable-line prefer-promise-reject-errors
      () => Promise.reject(undefined), // eslint-disable-line prefer-promise-reject-errors
    ]) {
      await withClient(backendWith({ resolve }), async (gov) => {
        const outcome = await failureOf('discover', () => gov.discover('payments'))
        expect(outcome.error instanceof GovernanceError, describeShort(outcome.error)).toBe(true)
        expect(outcome.sync).toBe(false)
      })
    }
  })
})

describe('a backend answering garbage to register() and renew()', () => {
  const lease = (spec: { id: string; service: string }) => ({ id: spec.id, service: spec.service, instanceId: spec.id, ttlMs: 1_000 })
  const badLeases: [string, (spec: { id: string; service: string }) => unknown][] = [
    ['undefined', () => undefined],
    ['null', () => null],
    ['ttlMs NaN', (spec) => ({ ...lease(spec), ttlMs: Number.NaN })],
    ['ttlMs 0', (spec) => ({ ...lease(spec), ttlMs: 0 })],
    ['ttlMs a string', (spec) => ({ ...lease(spec), ttlMs: '1000' })],
    ['id missing', (spec) => ({ ...lease(spec), id: undefined })],
    ['another instance', (spec) => ({ ...lease(spec), instanceId: 'someone-else' })],
  ]
  it.each(badLeases)('register() answering %s: register() rejects with a ProtocolError, no event says registered', async (_label, answer) => {
    let calls = 0
    const backend = backendWith({
      register: async (spec: { id: string; service: string }) => {
        calls++
        return answer(spec)
      },
    })
    await withClient(backend, async (gov) => {
      const registered: unknown[] = []
      gov.on('registry:registered', (e) => void registered.push(e))
      await expectFailure('register', () => gov.register(), /register|lease|ttlMs|answer/, { cls: ProtocolError })
      expect(registered).toEqual([])
      expect(gov.registrationState).toBe('idle')
      expect(calls).toBeLessThan(5)
    })
  })

  const badRenewals: [string, unknown][] = [
    ['undefined', undefined],
    ['ttlMs NaN', { ttlMs: Number.NaN }],
    ['ttlMs negative', { ttlMs: -1 }],
    ['ttlMs a string', { ttlMs: '1000' }],
  ]
  it.each(badRenewals)('renew() answering %s: reported as renewFailed, never a tight loop', async (_label, answer) => {
    let renewals = 0
    const backend = backendWith({
      renew: async () => {
        renewals++
        return answer
      },
    })
    await withClient(backend, async (gov) => {
      const failed: unknown[] = []
      gov.on('registry:renewFailed', (e) => void failed.push(e.error))
      await gov.register()
      await expect.poll(() => failed.length, { timeout: 5_000 }).toBeGreaterThan(0)
      expect(failed[0]).toBeInstanceOf(ProtocolError)
      const at = renewals
      await new Promise((resolve) => setTimeout(resolve, 300))
      // Retries every 1-100 ms (full jitter on a 100 ms interval): tens in 300 ms at most. A NaN
      // TTL taken as a delay (no delay at all) spun the loop through thousands in that time.
      expect(renewals - at).toBeLessThan(100)
    })
  })

  it('a register() that never settles: register() times out; close() finishes', async () => {
    await withClient(backendWith({ register: never, deregister: never }), async (gov) => {
      const outcome = await failureOf('register', () => gov.register(), 2_000)
      expect(outcome.error, describeShort(outcome.error)).toBeInstanceOf(TimeoutError)
    })
  })
})

describe('a backend answering garbage to the config calls', () => {
  const badEntries: [string, unknown][] = [
    ['null', null],
    ['a string', 'orders'],
    ['version a number', { key: 'orders', value: 1, version: 5 }],
    ['no value', { key: 'orders', version: '5' }],
  ]
  it.each(badEntries)('%s: get() and put() reject with a ProtocolError', async (_label, entry) => {
    await withClient(backendWith({ getConfig: async () => entry, putConfig: async () => entry }), async (gov) => {
      await expectFailure('get', () => gov.config.get('orders'), /orders/, { cls: ProtocolError })
      await expectFailure('put', () => gov.config.put('orders', 1), /orders/, { cls: ProtocolError })
    })
  })

  it('config calls that never settle time out; close() finishes', async () => {
    await withClient(backendWith({ getConfig: never, putConfig: never, deleteConfig: never }), async (gov) => {
      for (const [label, call] of [
        ['get', () => gov.config.get('orders')],
        ['put', () => gov.config.put('orders', 1)],
        ['delete', () => gov.config.delete('orders')],
      ] as const) {
        const outcome = await failureOf(label, call, 2_000)
        expect(outcome.error, `${label}: ${describeShort(outcome.error)}`).toBeInstanceOf(TimeoutError)
        expect(outcome.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 1_000)
      }
    })
  })
})

describe('a backend whose close() never settles, or a sink that hangs', () => {
  it('gov.close() still finishes and says why', async () => {
    const logger = recordingLogger()
    const backend = backendWith({
      close: never,
      createMetricSink: () => ({ name: 'stuck', export: never, close: never }),
    })
    await withClient(
      backend,
      async (gov) => {
        gov.metrics.counter('x_total').inc()
      },
      { logger },
    )
    expect(logger.lines.some((l) => /close/i.test(l.message))).toBe(true)
  })
})

describe('a backend object that is not one', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no capabilities', { capabilities: undefined }, /capabilities/],
    ['capabilities null', { capabilities: null }, /capabilities/],
    ['name a number', { name: 42 }, /name/],
    ['resolve not a function', { resolve: 'yes' }, /Backend interface|resolve/],
  ])('%s', async (_label, overrides, field) => {
    await expectFailure('new GovernanceClient', () => clientOn(backendWith(overrides)), field, { mode: 'sync', cls: InvalidArgumentError })
  })
})
