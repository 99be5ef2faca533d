/**
 * The public API contract (design/api.md), called by name through the package's own entry
 * points against the real implementation: every option, call and event name that the
 * contract lists, and the error classes it promises. Fast: an in-memory test registry for
 * most of it, one in-process reference server for the `server` option.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request as undiciRequest, type Dispatcher } from 'undici'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, it } from 'vitest'
import {
  AuthError,
  ClientClosedError,
  ConflictError,
  GovernanceClient,
  GovernanceError,
  InvalidArgumentError,
  LeaseLostError,
  NoAvailableInstanceError,
  NotFoundError,
  NotSupportedError,
  ProtocolError,
  ServerError,
  ServerUnavailableError,
  UpstreamError,
  TimeoutError,
  type GovernanceClientOptions,
  type GovernanceEventName,
  type GovernanceEvents,
  type Instance,
  type InstanceSpec,
  type Logger,
} from 'governance-client'
import type { Backend, CallContext, ConfigEntry, Lease, MetricSink, RenewResult, ServiceSnapshot } from 'governance-client/backend'
import { etcdBackend } from 'governance-client/etcd'
import { seedBackend } from 'governance-client/seed'
import { createGovernanceServer, type GovernanceServer } from 'governance-client/server'
import { createMemoryBackend, createTestRegistry, type TestRegistry } from 'governance-client/testing'

const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }

/** Resolves with the next payload of `event`, or rejects after `ms`. */
function next<K extends GovernanceEventName>(gov: GovernanceClient, event: K, ms = 3_000): Promise<GovernanceEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms)
    gov.once(event, ((payload: GovernanceEvents[K]) => {
      clearTimeout(timer)
      resolve(payload)
    }) as never)
  })
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('package', () => {
  it('has the subpath exports, both module formats with types, and the bin of api.md', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8'))
    expect(pkg.name).toBe('governance-client')
    for (const sub of ['.', './server', './etcd', './seed', './testing']) {
      expect(pkg.exports[sub], sub).toMatchObject({
        import: { types: expect.any(String), default: expect.any(String) },
        require: { types: expect.any(String), default: expect.any(String) },
      })
    }
    expect(pkg.bin['governance-server']).toBeTypeOf('string')
    expect(pkg.engines.node).toMatch(/^>=22/)
  })
})

describe('GovernanceClient options', () => {
  let server: GovernanceServer
  let dataDir: string
  beforeAll(async () => {
    server = await createGovernanceServer({ token: 'write-token' })
    dataDir = await mkdtemp(join(tmpdir(), 'gov-contract-'))
  })
  afterAll(async () => {
    await server.close()
    await rm(dataDir, { recursive: true, force: true })
  })

  it('takes every option of api.md: server (string), service with all fields, timings, token, tls, logger, dataDir, requestTimeoutMs', async () => {
    const options: GovernanceClientOptions = {
      server: server.url,
      service: {
        name: 'orders',
        port: 8080,
        address: '10.0.0.5',
        id: 'orders-1',
        metadata: { version: '1.4.2' },
        tags: ['http'],
        zone: 'eu-1a',
        weight: 2,
      },
      heartbeatIntervalMs: 5_000,
      ttlMs: 15_000,
      token: 'write-token',
      tls: { ca: '-----BEGIN CERTIFICATE-----\n(unused for http)\n-----END CERTIFICATE-----\n' },
      logger: silent,
      dataDir,
      requestTimeoutMs: 2_000,
      metrics: { processMetrics: false },
    }
    const gov = new GovernanceClient(options)
    try {
      await gov.register()
      expect(gov.instanceId).toBe('orders-1')
      const [seen] = await gov.discover('orders')
      expect(seen).toMatchObject({
        id: 'orders-1',
        service: 'orders',
        address: '10.0.0.5',
        port: 8080,
        status: 'UP',
        metadata: { version: '1.4.2' },
        tags: ['http'],
        zone: 'eu-1a',
        weight: 2,
      } satisfies Instance)
    } finally {
      await gov.close()
    }
  })

  it('takes `server` as a string[] (failover to the next URL)', async () => {
    const gov = new GovernanceClient({
      server: ['http://127.0.0.1:1', server.url],
      token: 'write-token',
      logger: false,
      metrics: false,
      service: { name: 'failover', port: 8080, address: '127.0.0.1' },
    })
    try {
      await gov.register()
      expect((await gov.discover('failover')).map((i) => i.id)).toEqual([gov.instanceId])
    } finally {
      await gov.close()
    }
  })

  it('sends `token`: a wrong one is an AuthError, not retried', async () => {
    const gov = new GovernanceClient({ server: server.url, token: 'wrong', logger: false, metrics: false })
    try {
      const error = await gov.config.get('orders').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AuthError)
      expect(error).toMatchObject({ code: 'GOV_AUTH_REFUSED', retryable: false, status: 401 })
    } finally {
      await gov.close()
    }
  })

  it('defaults: heartbeatIntervalMs 5 s, ttlMs 15 s (as the docs say), registered UP', async () => {
    const registry = createTestRegistry()
    try {
      const gov = new GovernanceClient({ backend: registry.backend(), logger: false, metrics: false, service: { name: 'orders', port: 8080 } })
      await gov.register()
      expect(registry.held('orders', gov.instanceId)?.ttlMs).toBe(15_000)
      expect(gov.status).toBe('UP')
      await gov.close()
    } finally {
      await registry.close()
    }
  })

  it('validates options eagerly with InvalidArgumentError naming the option', () => {
    const bad: [string, () => unknown][] = [
      ['server', () => new GovernanceClient({} as GovernanceClientOptions)],
      ['not both', () => new GovernanceClient({ server: 'http://127.0.0.1:1', backend: createMemoryBackend() } as never)],
      ['service.port', () => new GovernanceClient({ backend: createMemoryBackend(), service: { name: 'a', port: 70_000 } })],
      ['service.adress', () => new GovernanceClient({ backend: createMemoryBackend(), service: { name: 'a', port: 1, adress: 'x' } as never })],
      ['ttlMs', () => new GovernanceClient({ backend: createMemoryBackend(), heartbeatIntervalMs: 5_000, ttlMs: 5_000 })],
      ['requestTimeoutMs', () => new GovernanceClient({ backend: createMemoryBackend(), requestTimeoutMs: -1 })],
      ['dataDir', () => new GovernanceClient({ backend: createMemoryBackend(), dataDir: '' })],
      ['logger.warn', () => new GovernanceClient({ backend: createMemoryBackend(), logger: { debug() {}, info() {}, error() {} } as never })],
      ['tls.cert', () => new GovernanceClient({ server: 'https://127.0.0.1:1', tls: { cert: 'x' } })],
    ]
    for (const [name, make] of bad) {
      let thrown: unknown
      try {
        make()
      } catch (error) {
        thrown = error
      }
      expect(thrown, name).toBeInstanceOf(InvalidArgumentError)
      expect((thrown as GovernanceError).code).toBe('GOV_INVALID_ARGUMENT')
      expect((thrown as Error).message, name).toContain(name.split(' ')[0])
    }
  })
})

describe('backend factories', () => {
  it('seedBackend({ registry, monitor, config, pollIntervalMs }) and etcdBackend({ endpoints, prefix, auth }) are Backends the client takes', async () => {
    const seed = seedBackend({
      registry: 'http://127.0.0.1:1',
      monitor: 'http://127.0.0.1:1',
      config: 'http://127.0.0.1:1',
      pollIntervalMs: 1000,
      logger: silent,
    })
    const etcd = etcdBackend({
      endpoints: ['http://127.0.0.1:2379', 'http://127.0.0.1:22379'],
      prefix: '/governance',
      auth: { username: 'orders', password: 'secret' },
      logger: silent,
    })
    expect(seed.name).toBe('seed')
    expect(etcd.name).toBe('etcd')
    for (const backend of [seed, etcd] satisfies Backend[]) {
      const gov = new GovernanceClient({ backend, logger: false, metrics: false })
      expect(gov.backend).toBe(backend)
      await gov.close()
    }
    expect(() => etcdBackend({ endpoints: [] })).toThrow(InvalidArgumentError)
    expect(() => seedBackend({ registry: 'nope', monitor: 'http://a', config: 'http://a' })).toThrow(InvalidArgumentError)
  })
})

describe('register, discover, pick, metrics, config on a test registry', () => {
  let registry: TestRegistry
  let gov: GovernanceClient
  beforeEach(() => {
    registry = createTestRegistry()
    gov = new GovernanceClient({
      backend: registry.backend(),
      service: { name: 'orders', port: 8080, address: '10.0.0.1', zone: 'eu-1a' },
      heartbeatIntervalMs: 50,
      ttlMs: 1_000,
      logger: false,
      requestTimeoutMs: 1_000,
      discovery: { minNotifyIntervalMs: 0 },
      metrics: { processMetrics: false, flushIntervalMs: 60_000 },
    })
  })
  afterEach(async () => {
    await gov.close()
    await registry.close()
  })

  it('register() resolves once the server holds the instance, then heartbeats; deregister() removes it', async () => {
    const registered = next(gov, 'registry:registered')
    await gov.register()
    expect(registry.instances('orders').map((i) => i.id)).toEqual([gov.instanceId])
    expect(await registered).toEqual({ service: 'orders', instanceId: gov.instanceId, epoch: 1 })
    await until(() => registry.heartbeats.length >= 2)

    const deregistered = next(gov, 'registry:deregistered')
    await gov.deregister()
    expect(await deregistered).toEqual({ service: 'orders', instanceId: gov.instanceId })
    expect(registry.instances('orders')).toEqual([])
  })

  it('register() without `service` throws a clear InvalidArgumentError; the client still discovers, reads config and records metrics', async () => {
    const reader = new GovernanceClient({ backend: registry.backend(), logger: false, metrics: { processMetrics: false } })
    try {
      await expect(reader.register()).rejects.toThrow(InvalidArgumentError)
      await expect(reader.register()).rejects.toThrow(/service/)
      registry.addInstance({ service: 'payments', id: 'p1', address: '10.0.0.7', port: 9000 })
      expect((await reader.discover('payments')).map((i) => i.id)).toEqual(['p1'])
      expect(await reader.config.get('absent')).toBeUndefined()
      reader.metrics.counter('reads_total').inc()
      await reader.metrics.flush()
      expect(registry.metricBatches.at(-1)?.service).toBe('unknown-service')
    } finally {
      await reader.close()
    }
  })

  it('discover() answers the instances from a cache kept fresh by the watch, with ageMs, source and revision', async () => {
    registry.addInstance({ service: 'payments', id: 'p1', address: '10.0.0.7', port: 9000 })
    const list = await gov.discover('payments')
    expectTypeOf(list).toMatchTypeOf<readonly Instance[]>()
    expect(list.map((i) => i.id)).toEqual(['p1'])
    expect(list.source).toBe('live')
    // Since the server last confirmed it (here: the first resolve, just now).
    expect(list.ageMs).toBeGreaterThanOrEqual(0)
    expect(list.ageMs).toBeLessThan(1_000)
    expect(list.revision).toMatch(/^[0-9]+$/)
    expect(Object.isFrozen(list)).toBe(true)

    const resolves = registry.count('resolve')
    await gov.discover('payments')
    expect(registry.count('resolve')).toBe(resolves) // cached

    const changed = next(gov, 'discovery:changed')
    registry.addInstance({ service: 'payments', id: 'p2', address: '10.0.0.8', port: 9000 })
    const event = await changed
    expect(event).toMatchObject({ service: 'payments', reset: false })
    expect(event.diff.added.map((i) => i.id)).toEqual(['p2'])
    expect(event.instances.map((i) => i.id)).toEqual(['p1', 'p2'])
    expect((await gov.discover('payments')).map((i) => i.id)).toEqual(['p1', 'p2'])
  })

  it('pick() with every strategy name, and zone', async () => {
    registry.addInstance({ service: 'payments', id: 'a', address: '10.0.0.7', port: 9000, zone: 'eu-1a', weight: 0 })
    registry.addInstance({ service: 'payments', id: 'b', address: '10.0.0.8', port: 9000, zone: 'eu-1b', weight: 1 })
    const ids = async (options: Parameters<GovernanceClient['pick']>[1], n = 20): Promise<Set<string>> => {
      const seen = new Set<string>()
      for (let i = 0; i < n; i++) seen.add((await gov.pick('payments', options)).id)
      return seen
    }
    // The local zone (service.zone 'eu-1a') is preferred by default; zone: false turns that off.
    expect(await ids({ strategy: 'round-robin' })).toEqual(new Set(['a']))
    expect(await ids({ strategy: 'round-robin', zone: false })).toEqual(new Set(['a', 'b']))
    expect(await ids({ strategy: 'random', zone: 'eu-1b' })).toEqual(new Set(['b']))
    expect(await ids({ strategy: 'weighted', zone: false })).toEqual(new Set(['b'])) // weight 0: never while others exist
    expect((await ids({ strategy: 'least-request', zone: false })).size).toBeGreaterThanOrEqual(1)
    expect(gov.pickSync('payments', { zone: 'eu-1b' })?.id).toBe('b')
    await expect(gov.pick('payments', { strategy: 'nope' as 'random' })).rejects.toThrow(InvalidArgumentError)

    const error = await gov.pick('nobody').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NoAvailableInstanceError)
    expect(error).toMatchObject({ code: 'GOV_NO_AVAILABLE_INSTANCE' })
  })

  it('metrics: counter(name, { help }).inc(1, labels), gauge().set(), histogram(name, { buckets }).observe(), flush()', async () => {
    gov.metrics.counter('http_requests_total', { help: 'Requests served.' }).inc(1, { route: '/a', status: '200' })
    gov.metrics.gauge('queue_depth').set(3)
    gov.metrics.histogram('http_request_duration_ms', { buckets: [5, 10, 25] }).observe(12.5, { route: '/a' })
    const exported = next(gov, 'metrics:exported')
    await gov.metrics.flush()
    expect(await exported).toMatchObject({ sink: expect.any(String), batchId: expect.any(String), points: 3 })
    expect(registry.metricPoints()).toEqual([
      { name: 'http_requests_total', kind: 'counter', labels: { route: '/a', status: '200' }, value: 1, help: 'Requests served.' },
      { name: 'queue_depth', kind: 'gauge', labels: {}, value: 3 },
      { name: 'http_request_duration_ms', kind: 'histogram', labels: { route: '/a' }, buckets: [5, 10, 25], counts: [0, 0, 1, 0], sum: 12.5, count: 1 },
    ])

    // Two: recording schedules a background pass, and flush() makes one more without waiting.
    registry.failNext('exportMetrics', 2)
    const failed = next(gov, 'metrics:exportFailed')
    gov.metrics.counter('http_requests_total').inc(1, { route: '/a', status: '200' })
    await expect(gov.metrics.flush()).rejects.toThrow(ServerUnavailableError)
    expect(await failed).toMatchObject({ attempt: 1, error: expect.any(ServerUnavailableError) })
  })

  it('metrics:dropped: a batch the sink refuses for good', async () => {
    const refusing: MetricSink = {
      name: 'refusing',
      export: () => Promise.reject(new ProtocolError('refused')),
    }
    const other = new GovernanceClient({ backend: registry.backend(), logger: false, metrics: { processMetrics: false, sinks: [refusing] } })
    try {
      const dropped = next(other, 'metrics:dropped')
      other.metrics.counter('x_total').inc()
      await expect(other.metrics.flush()).rejects.toThrow(ProtocolError)
      expect(await dropped).toMatchObject({ sink: 'refusing', batches: 1, reason: 'rejected' })
    } finally {
      await other.close()
    }
  })

  it('config: get → { value, version } | undefined; watch returns unsubscribe; changes(key, { signal }); put with ifVersion and ConflictError', async () => {
    expect(await gov.config.get('orders')).toBeUndefined()
    const first = await gov.config.put('orders', { limit: 1 })
    expect(first).toMatchObject({ value: { limit: 1 }, version: expect.stringMatching(/^[0-9]+$/) })
    expect(await gov.config.get('orders')).toMatchObject({ value: { limit: 1 }, version: first.version })

    const seen: unknown[] = []
    const stop = gov.config.watch('orders', (value, change) => {
      seen.push(value)
      expect(change.key).toBe('orders')
    })
    expectTypeOf(stop).toEqualTypeOf<() => void>()
    await until(() => seen.length === 1)

    const controller = new AbortController()
    const iterated: unknown[] = []
    const loop = (async () => {
      for await (const change of gov.config.changes('orders', { signal: controller.signal })) {
        iterated.push(change.value)
        if (iterated.length === 2) controller.abort()
      }
    })()

    const changed = next(gov, 'config:changed')
    const second = await gov.config.put('orders', { limit: 2 }, { ifVersion: first.version })
    expect(await changed).toMatchObject({ key: 'orders', value: { limit: 2 }, version: second.version, changedKeys: ['limit'] })
    await until(() => seen.length === 2)
    await loop // ends normally when the signal aborts
    expect(iterated).toEqual([{ limit: 1 }, { limit: 2 }])
    stop()
    stop() // idempotent

    const lost = await gov.config.put('orders', { limit: 3 }, { ifVersion: first.version }).catch((e: unknown) => e)
    expect(lost).toBeInstanceOf(ConflictError)
    expect(lost).toMatchObject({ code: 'GOV_CONFLICT', retryable: false })
    await expect(gov.config.put('fresh', 1, { ifVersion: '0' })).resolves.toMatchObject({ value: 1 })
    await expect(gov.config.put('fresh', 2, { ifVersion: '0' })).rejects.toBeInstanceOf(ConflictError)
  })

  it('config:rejected and error events', async () => {
    registry.setConfig('limits', { max: 'many' })
    const rejected = next(gov, 'config:rejected')
    gov.config.watch('limits', () => {}, {
      schema: (raw) => {
        if (typeof (raw as { max?: unknown }).max !== 'number') throw new Error('max must be a number')
        return raw as { max: number }
      },
    })
    expect(await rejected).toMatchObject({ key: 'limits', error: expect.any(GovernanceError) })

    registry.setConfig('boom', 1)
    const error = next(gov, 'error')
    gov.config.watch('boom', () => {
      throw new Error('callback failed')
    })
    expect(await error).toBeInstanceOf(GovernanceError)
  })

  it('registry:renewFailed and registry:leaseLost fire, and the client registers again', async () => {
    await gov.register()
    registry.failNext('renew')
    expect(await next(gov, 'registry:renewFailed')).toMatchObject({ service: 'orders', failures: 1, error: expect.any(ServerUnavailableError) })

    const lost = next(gov, 'registry:leaseLost')
    const again = new Promise<GovernanceEvents['registry:registered']>((resolve) => {
      gov.on('registry:registered', (e) => e.epoch === 2 && resolve(e))
    })
    registry.loseAllLeases()
    expect(await lost).toMatchObject({ service: 'orders', epoch: 1, reason: 'server' })
    expect(await again).toMatchObject({ epoch: 2 })
    expect(gov.epoch).toBe(2)
  })

  it('discovery:stale fires while the server is unreachable, and the cache keeps answering', async () => {
    registry.addInstance({ service: 'payments', id: 'p1', address: '10.0.0.7', port: 9000 })
    await gov.discover('payments')
    const stale = next(gov, 'discovery:stale')
    registry.setUnreachable(true)
    expect(await stale).toMatchObject({ service: 'payments', error: expect.any(ServerUnavailableError) })
    const during = await gov.discover('payments')
    expect(during.map((i) => i.id)).toEqual(['p1'])
    expect(during.source).toBe('memory')
    registry.setUnreachable(false)
  })

  it('every event name of api.md is a key of GovernanceEvents', () => {
    const names = [
      'registry:registered',
      'registry:leaseLost',
      'registry:deregistered',
      'registry:renewFailed',
      'discovery:changed',
      'discovery:stale',
      'config:changed',
      'config:rejected',
      'metrics:exported',
      'metrics:exportFailed',
      'metrics:dropped',
      'error',
    ] as const satisfies readonly GovernanceEventName[]
    expectTypeOf<(typeof names)[number]>().toMatchTypeOf<keyof GovernanceEvents>()
    for (const name of names) expect(gov.on(name, () => {})).toBe(gov)
  })
})

describe('gov.fetch and gov.dispatcher', () => {
  let upstream: Server
  let port: number
  beforeAll(async () => {
    upstream = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host }))
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    port = (upstream.address() as AddressInfo).port
  })
  afterAll(() => new Promise<void>((resolve) => upstream.close(() => resolve())))

  it('route http://<service>/… to an instance: fetch(url, init) and undici.request(url, { dispatcher })', async () => {
    const registry = createTestRegistry()
    registry.addInstance({ service: 'payments', id: 'p1', address: '127.0.0.1', port })
    const gov = registry.client()
    try {
      const res = await gov.fetch('http://payments/charge', { method: 'POST', body: '{}' })
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual({ method: 'POST', url: '/charge', host: `127.0.0.1:${port}` })

      const dispatcher: Dispatcher = gov.dispatcher
      const answer = await undiciRequest('http://payments/status?x=1', { dispatcher })
      expect(answer.statusCode).toBe(200)
      expect(await answer.body.json()).toMatchObject({ method: 'GET', url: '/status?x=1' })

      // A name with no registered instance goes to the normal network; strict routing refuses it.
      const strict = registry.client({ discovery: { routing: { strict: true } } })
      const failure = await strict.fetch('http://nobody/x').catch((e: unknown) => e)
      expect(failure).toBeInstanceOf(NoAvailableInstanceError)
      await strict.close()
    } finally {
      await registry.close()
    }
  })
})

describe('errors and aborts', () => {
  it('exports GovernanceError and a subclass with a stable code for each failure api.md lists', () => {
    const cases: [new (message: string, options?: { cause?: unknown }) => GovernanceError, string, boolean][] = [
      [GovernanceError, 'GOV_ERROR', false],
      [ServerError, 'GOV_SERVER_ERROR', true],
      [InvalidArgumentError, 'GOV_INVALID_ARGUMENT', false],
      [ServerUnavailableError, 'GOV_SERVER_UNAVAILABLE', true],
      [TimeoutError, 'GOV_TIMEOUT', true],
      [AuthError, 'GOV_AUTH_REFUSED', false],
      [ProtocolError, 'GOV_PROTOCOL', false],
      [ConflictError, 'GOV_CONFLICT', false],
      [NotFoundError, 'GOV_NOT_FOUND', false],
      [LeaseLostError, 'GOV_LEASE_LOST', false],
      [NoAvailableInstanceError, 'GOV_NO_AVAILABLE_INSTANCE', false],
      [UpstreamError, 'GOV_UPSTREAM_UNAVAILABLE', true],
      [ClientClosedError, 'GOV_CLIENT_CLOSED', false],
    ]
    const cause = new Error('root')
    for (const [Class, code, retryable] of cases) {
      const error = new Class('m', { cause })
      expect(error).toBeInstanceOf(GovernanceError)
      expect(error).toBeInstanceOf(Error)
      expect(error).toMatchObject({ code, retryable, cause, name: Class.name, message: 'm' })
    }
  })

  it('an abort rejects with the signal’s reason', async () => {
    const registry = createTestRegistry()
    const gov = registry.client({ service: { name: 'orders', port: 8080 }, requestTimeoutMs: 5_000 })
    try {
      const reason = new Error('the caller gave up')
      registry.slow('*', 300)
      const calls: [string, (signal: AbortSignal) => Promise<unknown>][] = [
        ['register', (signal) => gov.register({ signal })],
        ['discover', (signal) => gov.discover('payments', { signal })],
        ['pick', (signal) => gov.pick('payments', { signal })],
        ['config.get', (signal) => gov.config.get('orders', { signal })],
        ['config.put', (signal) => gov.config.put('orders', 1, { signal })],
        ['metrics.flush', (signal) => (gov.metrics.counter('calls_total').inc(), gov.metrics.flush({ signal }))],
      ]
      for (const [name, call] of calls) {
        const controller = new AbortController()
        const pending = call(controller.signal).then(
          () => 'resolved',
          (e: unknown) => e,
        )
        setTimeout(() => controller.abort(reason), 10)
        expect(await pending, name).toBe(reason)
        expect(await call(AbortSignal.abort(reason)).catch((e: unknown) => e), `${name} (already aborted)`).toBe(reason)
      }
      registry.slow('*', 0)
    } finally {
      await registry.close()
    }
  })

  it('close() is idempotent; calls after it reject with ClientClosedError', async () => {
    const registry = createTestRegistry()
    const gov = registry.client({ service: { name: 'orders', port: 8080 } })
    await gov.register()
    const deregistered = next(gov, 'registry:deregistered')
    const closing = gov.close()
    expect(gov.close()).toBe(closing)
    await closing
    await deregistered
    await gov.close()
    expect(registry.instances('orders')).toEqual([])
    for (const call of [() => gov.register(), () => gov.discover('x'), () => gov.pick('x'), () => gov.config.get('x'), () => gov.metrics.flush()]) {
      await expect(call()).rejects.toBeInstanceOf(ClientClosedError)
    }
    await registry.close()
  })
})

describe('Backend interface', () => {
  /** A backend for a server of one's own, written against the interface alone. */
  function minimalBackend(): Backend & { readonly store: Map<string, Instance>; readonly config: Map<string, ConfigEntry> } {
    const store = new Map<string, Instance>()
    const config = new Map<string, ConfigEntry>()
    let revision = 1
    return {
      name: 'minimal',
      capabilities: { deregister: true, ttl: true, compareAndSet: true },
      store,
      config,
      async register(spec: InstanceSpec, _ctx: CallContext): Promise<Lease> {
        const { ttlMs, ...instance } = spec
        store.set(spec.id, instance)
        revision++
        return { id: spec.id, service: spec.service, instanceId: spec.id, ttlMs }
      },
      async renew(lease: Lease): Promise<RenewResult> {
        if (!store.has(lease.id)) throw new LeaseLostError(`${lease.id} is gone`)
        return { ttlMs: lease.ttlMs }
      },
      async deregister(lease: Lease): Promise<void> {
        if (store.delete(lease.id)) revision++
      },
      async resolve(service: string): Promise<ServiceSnapshot> {
        return { service, instances: [...store.values()].filter((i) => i.service === service), revision: String(revision) }
      },
      async getConfig(key: string): Promise<ConfigEntry | undefined> {
        return config.get(key)
      },
      async putConfig(key: string, value: unknown, options: { ifVersion?: string }): Promise<ConfigEntry> {
        const current = config.get(key)?.version ?? '0'
        if (options.ifVersion !== undefined && options.ifVersion !== current) throw new ConflictError(`version is ${current}`)
        const entry = { key, value, version: String(++revision) }
        config.set(key, entry)
        return entry
      },
      async close(): Promise<void> {},
    }
  }

  it('a hand-written Backend type-checks and works with the client (no watch: the core polls)', async () => {
    const backend = minimalBackend()
    const gov = new GovernanceClient({ backend, service: { name: 'orders', port: 8080, address: '10.0.0.1' }, logger: false, metrics: false, config: { pollIntervalMs: 20 } })
    try {
      await gov.register()
      expect([...backend.store.keys()]).toEqual([gov.instanceId])
      expect((await gov.discover('orders')).map((i) => i.id)).toEqual([gov.instanceId])
      expect((await gov.pick('orders')).port).toBe(8080)
      const seen: unknown[] = []
      gov.config.watch('k', (value) => seen.push(value))
      const { version } = await gov.config.put('k', 1)
      await until(() => seen.at(-1) === 1)
      await expect(gov.config.put('k', 2, { ifVersion: '1' })).rejects.toBeInstanceOf(ConflictError)
      await gov.config.put('k', 2, { ifVersion: version })
      await gov.deregister()
      expect(backend.store.size).toBe(0)
    } finally {
      await gov.close()
    }
  })

  it('a Backend written for the older interface, still declaring push, multipleInstances and deleteConfig, works (extra keys ignored)', async () => {
    const backend = { ...minimalBackend(), capabilities: { deregister: true, multipleInstances: true, ttl: true, push: true, compareAndSet: true, deleteConfig: true } }
    const gov = new GovernanceClient({ backend, service: { name: 'orders', port: 8080, address: '10.0.0.1' }, logger: false, metrics: false, config: { pollIntervalMs: 20 } })
    try {
      await gov.register()
      // push: true without watchService: the method's absence decides, so the core polls.
      expect((await gov.discover('orders')).map((i) => i.id)).toEqual([gov.instanceId])
      const seen: unknown[] = []
      gov.config.watch('k', (value) => seen.push(value))
      await gov.config.put('k', 1)
      await until(() => seen.at(-1) === 1)
      // deleteConfig: true without the method: a delete is still NotSupportedError.
      await expect(gov.config.delete('k')).rejects.toBeInstanceOf(NotSupportedError)
    } finally {
      await gov.close()
    }
  })

  it('an object that is not a Backend is refused with InvalidArgumentError, not a crash', () => {
    const { capabilities: _, ...withoutCapabilities } = minimalBackend()
    for (const backend of [{}, { ...withoutCapabilities }, { ...minimalBackend(), resolve: 'no' }]) {
      expect(() => new GovernanceClient({ backend: backend as unknown as Backend, logger: false })).toThrow(InvalidArgumentError)
    }
  })
})
