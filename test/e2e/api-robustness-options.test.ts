/**
 * Bad options at construction, through the real GovernanceClient: each one throws an
 * InvalidArgumentError at once whose message names the option, never a TypeError, never a
 * client that starts with a silently ignored or defaulted option, and never a timer left
 * behind by a constructor that threw half-way.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { GovernanceClient, InvalidArgumentError, type GovernanceClientOptions } from '../../src/index.js'
import { createTestRegistry } from '../../src/testing/index.js'
import { captureProcessFailures, describeShort, TimerTracker } from './api-robustness-helpers.js'

captureProcessFailures()

const registry = createTestRegistry()
afterAll(() => registry.close())

const long = 'x'.repeat(5_000)
const service = { name: 'orders', port: 8080, address: '127.0.0.1' }

/** Options on the test registry with logging and process metrics off, plus `extra`. */
function on(extra: Record<string, unknown>): GovernanceClientOptions {
  return { backend: registry.backend(), logger: false, metrics: { processMetrics: false }, ...extra } as GovernanceClientOptions
}

/** A bad option: `new GovernanceClient(options)` must throw InvalidArgumentError naming `field`. */
type Case = readonly [label: string, options: unknown, field: RegExp]

const cases: Case[] = [
  // the options object itself
  ['options undefined', undefined, /options must be an object/],
  ['options null', null, /options must be an object/],
  ['options a string', 'http://127.0.0.1:7070', /options must be an object/],
  ['options a number', 42, /options must be an object/],
  ['options an array', [], /options must be an object/],
  ['unknown top-level option', on({ heartbeatInterval: 1_000 }), /heartbeatInterval/],
  ['unknown top-level option (typo of server)', { servers: 'http://127.0.0.1:1', logger: false }, /servers/],
  // server / backend
  ['server empty', { server: '', logger: false }, /server/],
  ['server not a url', { server: 'not a url', logger: false }, /server/],
  ['server http:// only', { server: 'http://', logger: false }, /server/],
  ['server ftp', { server: 'ftp://x', logger: false }, /server/],
  ['server a number', { server: 42, logger: false }, /server/],
  ['server null', { server: null, logger: false }, /server/],
  ['server an object', { server: { url: 'http://127.0.0.1:1' }, logger: false }, /server/],
  ['server empty list', { server: [], logger: false }, /server/],
  ['server list with a number', { server: ['http://127.0.0.1:1', 5], logger: false }, /server/],
  ['server 5,000 chars', { server: `http://${long}`, logger: false }, /server/],
  ['server with credentials', { server: 'http://u:p@127.0.0.1:1', logger: false }, /server/],
  ['backend not a Backend', { backend: {}, logger: false }, /backend/],
  ['backend a string', { backend: 'etcd', logger: false }, /backend/],
  ['backend null', { backend: null, logger: false }, /backend/],
  ['server and backend', on({ server: 'http://127.0.0.1:1' }), /server.*backend|backend.*server/],
  // client options
  ['requestTimeoutMs 0', on({ requestTimeoutMs: 0 }), /requestTimeoutMs/],
  ['requestTimeoutMs negative', on({ requestTimeoutMs: -1 }), /requestTimeoutMs/],
  ['requestTimeoutMs NaN', on({ requestTimeoutMs: Number.NaN }), /requestTimeoutMs/],
  ['requestTimeoutMs Infinity', on({ requestTimeoutMs: Number.POSITIVE_INFINITY }), /requestTimeoutMs/],
  ['requestTimeoutMs a string', on({ requestTimeoutMs: '100' }), /requestTimeoutMs/],
  ['requestTimeoutMs null', on({ requestTimeoutMs: null }), /requestTimeoutMs/],
  ['logger null', on({ logger: null }), /logger/],
  ['logger a string', on({ logger: 'console' }), /logger/],
  ['logger without methods', on({ logger: {} }), /logger/],
  ['logger true', on({ logger: true }), /logger/],
  ['dataDir empty', on({ dataDir: '' }), /dataDir/],
  ['dataDir a number', on({ dataDir: 42 }), /dataDir/],
  ['dataDir null', on({ dataDir: null }), /dataDir/],
  ['token a number', { server: 'http://127.0.0.1:1', token: 42, logger: false }, /token/],
  ['token empty', { server: 'http://127.0.0.1:1', token: '', logger: false }, /token/],
  ['token with a newline', { server: 'http://127.0.0.1:1', token: 'a\nb', logger: false }, /token/],
  ['tls a string', { server: 'https://127.0.0.1:1', tls: 'yes', logger: false }, /tls/],
  ['tls.ca a number', { server: 'https://127.0.0.1:1', tls: { ca: 42 }, logger: false }, /tls\.ca/],
  // registration
  ['heartbeatIntervalMs 0', on({ heartbeatIntervalMs: 0 }), /heartbeatIntervalMs/],
  ['heartbeatIntervalMs NaN', on({ heartbeatIntervalMs: Number.NaN }), /heartbeatIntervalMs/],
  ['heartbeatIntervalMs Infinity', on({ heartbeatIntervalMs: Number.POSITIVE_INFINITY }), /heartbeatIntervalMs/],
  ['heartbeatIntervalMs a string', on({ heartbeatIntervalMs: '5000' }), /heartbeatIntervalMs/],
  ['heartbeatIntervalMs null', on({ heartbeatIntervalMs: null }), /heartbeatIntervalMs/],
  ['ttlMs below the interval', on({ heartbeatIntervalMs: 1_000, ttlMs: 500 }), /ttlMs/],
  ['ttlMs negative', on({ ttlMs: -1 }), /ttlMs/],
  ['registerTimeoutMs 0', on({ registerTimeoutMs: 0 }), /registerTimeoutMs/],
  ['drainMs negative', on({ drainMs: -5 }), /drainMs/],
  ['leaseSafetyMarginMs too large', on({ leaseSafetyMarginMs: 1e9 }), /leaseSafetyMarginMs/],
  ['healthCheck not a function', on({ healthCheck: 'UP' }), /healthCheck/],
  ['healthCheckIntervalMs NaN', on({ healthCheckIntervalMs: Number.NaN }), /healthCheckIntervalMs/],
  ['handleSignals a string', on({ handleSignals: 'yes' }), /handleSignals/],
  ['service a string', on({ service: 'orders' }), /service/],
  ['service null', on({ service: null }), /service/],
  ['service an array', on({ service: [] }), /service/],
  ['service unknown key', on({ service: { ...service, nmae: 'x' } }), /service\.nmae/],
  ['service.name missing', on({ service: { port: 8080 } }), /service\.name/],
  ['service.name empty', on({ service: { ...service, name: '' } }), /service\.name/],
  ['service.name 5,000 chars', on({ service: { ...service, name: long } }), /service\.name/],
  ['service.name with a space', on({ service: { ...service, name: 'my orders' } }), /service\.name/],
  ['service.name an object', on({ service: { ...service, name: { n: 1 } } }), /service\.name/],
  ['service.name a path', on({ service: { ...service, name: '../etc' } }), /service\.name/],
  ['service.port a string', on({ service: { ...service, port: '8080' } }), /service\.port/],
  ['service.port 0', on({ service: { ...service, port: 0 } }), /service\.port/],
  ['service.port 70000', on({ service: { ...service, port: 70_000 } }), /service\.port/],
  ['service.port NaN', on({ service: { ...service, port: Number.NaN } }), /service\.port/],
  ['service.port 1.5', on({ service: { ...service, port: 1.5 } }), /service\.port/],
  ['service.address empty', on({ service: { ...service, address: '' } }), /service\.address/],
  ['service.address with a space', on({ service: { ...service, address: '10.0.0.1 x' } }), /service\.address/],
  ['service.address 5,000 chars', on({ service: { ...service, address: long } }), /service\.address/],
  ['service.address a number', on({ service: { ...service, address: 10 } }), /service\.address/],
  ['service.id empty', on({ service: { ...service, id: '' } }), /service\.id/],
  ['service.id with a slash', on({ service: { ...service, id: 'a/b' } }), /service\.id/],
  ['service.metadata a string', on({ service: { ...service, metadata: 'x' } }), /service\.metadata/],
  ['service.metadata a number value', on({ service: { ...service, metadata: { k: 1 } } }), /service\.metadata/],
  ['service.metadata a 5,000-char value', on({ service: { ...service, metadata: { k: long } } }), /service\.metadata/],
  ['service.tags a string', on({ service: { ...service, tags: 'a' } }), /service\.tags/],
  ['service.tags a number', on({ service: { ...service, tags: [1] } }), /service\.tags/],
  ['service.tags an empty tag', on({ service: { ...service, tags: [''] } }), /service\.tags/],
  ['service.zone empty', on({ service: { ...service, zone: '' } }), /service\.zone/],
  ['service.zone a number', on({ service: { ...service, zone: 1 } }), /service\.zone/],
  ['service.weight negative', on({ service: { ...service, weight: -1 } }), /service\.weight/],
  ['service.weight NaN', on({ service: { ...service, weight: Number.NaN } }), /service\.weight/],
  ['service.weight 1001', on({ service: { ...service, weight: 1_001 } }), /service\.weight/],
  ['service.status WHATEVER', on({ service: { ...service, status: 'WHATEVER' } }), /service\.status/],
  // discovery
  ['discovery a string', on({ discovery: 'fast' }), /discovery/],
  ['discovery null', on({ discovery: null }), /discovery must be an object/],
  ['discovery unknown key', on({ discovery: { cachesize: 10 } }), /discovery\.cachesize/],
  ['discovery.cacheSize 0', on({ discovery: { cacheSize: 0 } }), /discovery\.cacheSize/],
  ['discovery.cacheSize NaN', on({ discovery: { cacheSize: Number.NaN } }), /discovery\.cacheSize/],
  ['discovery.maxStalenessMs negative', on({ discovery: { maxStalenessMs: -1 } }), /discovery\.maxStalenessMs/],
  ['discovery.pollIntervalMs a string', on({ discovery: { pollIntervalMs: '5s' } }), /discovery\.pollIntervalMs/],
  ['discovery.defaultBalancer unknown', on({ discovery: { defaultBalancer: 'fastest' } }), /discovery\.defaultBalancer/],
  ['discovery.defaultBalancer a number', on({ discovery: { defaultBalancer: 3 } }), /discovery\.defaultBalancer/],
  ['discovery.defaultFilter.status WHATEVER', on({ discovery: { defaultFilter: { status: ['WHATEVER'] } } }), /discovery\.defaultFilter\.status/],
  ['discovery.defaultFilter.filter a string', on({ discovery: { defaultFilter: { filter: 'up' } } }), /discovery\.defaultFilter\.filter/],
  ['discovery.defaultFilter unknown key', on({ discovery: { defaultFilter: { tag: ['a'] } } }), /discovery\.defaultFilter\.tag/],
  ['discovery.emptyProtection a string', on({ discovery: { emptyProtection: 'on' } }), /discovery\.emptyProtection/],
  ['discovery.recoveryBackoff unknown key', on({ discovery: { recoveryBackoff: { minDelay: 1 } } }), /discovery\.recoveryBackoff\.minDelay/],
  ['discovery.outlier.consecutiveFailures 0', on({ discovery: { outlier: { consecutiveFailures: 0 } } }), /discovery\.outlier\.consecutiveFailures/],
  ['discovery.outlier unknown key', on({ discovery: { outlier: { failures: 3 } } }), /discovery\.outlier\.failures/],
  ['discovery.routing.serviceHost a string', on({ discovery: { routing: { serviceHost: 'x' } } }), /discovery\.routing\.serviceHost/],
  ['discovery.routing.passthrough an object', on({ discovery: { routing: { passthrough: {} } } }), /discovery\.routing\.passthrough/],
  ['discovery.routing unknown key', on({ discovery: { routing: { timeoutMs: 5 } } }), /discovery\.routing\.timeoutMs/],
  // metrics
  ['metrics a string', on({ metrics: 'on' }), /metrics/],
  ['metrics null', on({ metrics: null }), /metrics/],
  ['metrics true', on({ metrics: true }), /metrics/],
  ['metrics unknown key', on({ metrics: { flushInterval: 5 } }), /metrics\.flushInterval/],
  ['metrics.flushIntervalMs 0', on({ metrics: { flushIntervalMs: 0 } }), /metrics\.flushIntervalMs/],
  ['metrics.flushIntervalMs Infinity', on({ metrics: { flushIntervalMs: Number.POSITIVE_INFINITY } }), /metrics\.flushIntervalMs/],
  ['metrics.sinks a string', on({ metrics: { sinks: 'http' } }), /metrics\.sinks/],
  ['metrics.sinks without export', on({ metrics: { sinks: [{ name: 'x' }] } }), /metrics\.sinks\[0\]/],
  ['metrics.defaultBuckets descending', on({ metrics: { defaultBuckets: [3, 1] } }), /metrics\.defaultBuckets/],
  ['metrics.defaultBuckets NaN', on({ metrics: { defaultBuckets: [Number.NaN] } }), /metrics\.defaultBuckets/],
  ['metrics.retry null', on({ metrics: { retry: null } }), /metrics\.retry/],
  ['metrics.retry unknown key', on({ metrics: { retry: { delayMs: 1 } } }), /metrics\.retry\.delayMs/],
  // config
  ['config a string', on({ config: 'x' }), /config/],
  ['config null', on({ config: null }), /config/],
  ['config unknown key', on({ config: { pollInterval: 10 } }), /config\.pollInterval/],
  ['config.pollIntervalMs 0', on({ config: { pollIntervalMs: 0 } }), /config\.pollIntervalMs/],
  ['config.snapshot a string', on({ config: { snapshot: 'yes' } }), /config\.snapshot/],
  ['config.changesBufferSize NaN', on({ config: { changesBufferSize: Number.NaN } }), /config\.changesBufferSize/],
]

describe('GovernanceClient options: bad values', () => {
  it.each(cases)('%s', (label, options, field) => {
    const timers = new TimerTracker()
    timers.start()
    let made: GovernanceClient | undefined
    let error: unknown
    try {
      made = new GovernanceClient(options as GovernanceClientOptions)
    } catch (caught) {
      error = caught
    }
    const left = timers.stop()
    if (made) void made.close()
    expect(made, `${label}: the client was created`).toBeUndefined()
    expect(left, `${label}: a constructor that throws must leave no timer`).toEqual([])
    expect(error instanceof InvalidArgumentError, `${label}: expected InvalidArgumentError, got ${describeShort(error)}`).toBe(true)
    const message = (error as Error).message
    expect(message).toMatch(field)
    expect(message.length).toBeLessThan(1_000)
  })

  it('counts its cases', () => {
    expect(cases.length).toBeGreaterThan(100)
  })

  it('accepts every documented option together (the checks above are not over-eager)', async () => {
    const gov = new GovernanceClient(
      on({
        service: { ...service, id: 'orders-1', metadata: { a: 'b' }, tags: ['t'], zone: 'z', weight: 5, status: 'UP' },
        heartbeatIntervalMs: 1_000,
        ttlMs: 5_000,
        registerTimeoutMs: 2_000,
        drainMs: 0,
        leaseSafetyMarginMs: 500,
        healthCheck: () => true,
        healthCheckIntervalMs: 1_000,
        handleSignals: false,
        requestTimeoutMs: 1_000,
        discovery: {
          cacheSize: 10,
          maxStalenessMs: 1_000,
          refreshAheadMs: 100,
          staleIfErrorMs: 5_000,
          minNotifyIntervalMs: 0,
          idleWatchMs: 0,
          pollIntervalMs: 1_000,
          recoveryBackoff: { minDelayMs: 10, maxDelayMs: 100 },
          emptyProtection: { holdMs: 10 },
          defaultFilter: { status: 'any', tags: [], metadata: {}, filter: () => true },
          defaultBalancer: 'random',
          outlier: { consecutiveFailures: 2, baseEjectionMs: 10, maxEjectionMs: 100, maxEjectionPercent: 50 },
          routing: { serviceHost: () => undefined, connectTimeoutMs: 100, retryConnectFailures: false },
        },
        metrics: {
          enabled: true,
          flushIntervalMs: 60_000,
          maxPendingBatches: 2,
          maxSeriesPerInstrument: 10,
          processMetrics: false,
          upstreamMetrics: false,
          defaultBuckets: [1, 2],
          exportTimeoutMs: 100,
          retry: { minDelayMs: 1, maxDelayMs: 2 },
        },
        config: { pollIntervalMs: 100, snapshot: false, changesBufferSize: 2 },
      }),
    )
    await gov.close()
    // Optional fields given as undefined count as absent.
    const quiet = new GovernanceClient(on({ service: undefined, token: undefined, dataDir: undefined, discovery: undefined, config: undefined }))
    await quiet.close()
  })
})
