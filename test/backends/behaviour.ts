/**
 * The one behaviour suite every backend runs: the same tests, parameterised by a fixture
 * that starts the backend's server (reference server, real etcd, the seed centers' fake).
 * What a server cannot do is declared in the backend's capabilities or the fixture's options,
 * and the suite checks the declared fallback instead (e.g. the seed's one-instance-per-name).
 * A backend without watch methods is watched through a client (client-watch.ts): the core
 * polls it, and the same watch asserts hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Backend, BackendCapabilities } from '../../src/backend.js'
import {
  ClientClosedError,
  ConflictError,
  GovernanceError,
  InvalidArgumentError,
  LeaseLostError,
  NotSupportedError,
} from '../../src/errors.js'
import { compareRevisions, isRevision, type ConfigEntry, type InstanceSpec, type Lease, type ServiceSnapshot } from '../../src/types.js'
import { clientWatches, type ClientWatches } from './client-watch.js'
import { WatchRecorder, eventually, uniqueName } from './watch-recorder.js'

export interface BackendFixture {
  /** A new backend object talking to the shared server. */
  create(): Backend
  /** A backend whose server cannot be reached (nothing listens there). */
  createUnreachable(): Backend
  /** Makes the server forget this registration (lease expired, server restarted, …). */
  loseLease(lease: Lease): Promise<void>
  /** Shortest TTL the server honours, for the expiry test (ttl capability only). */
  readonly shortTtlMs: number
  close(): Promise<void>
}

export interface BehaviourOptions {
  readonly name: string
  readonly capabilities: BackendCapabilities
  readonly setup: () => Promise<BackendFixture>
  /** The server keeps one instance per service name (the seed registry). */
  readonly singleInstance?: boolean
  /** False for a config store that cannot delete (no `deleteConfig`). Default true. */
  readonly configDeletes?: boolean
  /** Run nothing (with a notice printed by the caller), e.g. etcd not installed. */
  readonly skip?: boolean
  /**
   * False for a server that stores no config (Eureka): the config section then checks that
   * getConfig rejects with NotSupportedError, and the error section watches services instead.
   */
  readonly config?: boolean
}

export function spec(service: string, id: string, overrides: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    id,
    service,
    address: '10.1.2.3',
    port: 8080,
    status: 'UP',
    metadata: { version: '1.4.2' },
    tags: ['http'],
    weight: 1,
    zone: 'eu-1a',
    ttlMs: 15_000,
    ...overrides,
  }
}

const ids = (s: ServiceSnapshot): string[] => s.instances.map((i) => i.id)

/** What every section reads once beforeAll has run. */
interface SuiteState {
  fixture: BackendFixture
  backend: Backend
  /** Clients made to watch backends without watch methods; closed after the suite. */
  clients: ClientWatches[]
}

/** The backend's own watch methods, or the client's polling watches when it has none. */
function watchesOf(state: SuiteState, backend: Backend): Pick<ClientWatches, 'watchService' | 'watchConfig'> {
  if (backend.watchService !== undefined && backend.watchConfig !== undefined) {
    return { watchService: backend.watchService.bind(backend), watchConfig: backend.watchConfig.bind(backend) }
  }
  const client = clientWatches(backend)
  state.clients.push(client)
  return {
    watchService: backend.watchService?.bind(backend) ?? client.watchService,
    watchConfig: backend.watchConfig?.bind(backend) ?? client.watchConfig,
  }
}

export function runBackendBehaviour(options: BehaviourOptions): void {
  const caps = options.capabilities
  const traits = { singleInstance: options.singleInstance === true, configDeletes: options.configDeletes !== false }
  describe.skipIf(options.skip === true)(`Backend behaviour: ${options.name}`, () => {
    const state = { clients: [] } as unknown as SuiteState
    beforeAll(async () => {
      state.fixture = await options.setup()
      state.backend = state.fixture.create()
    })
    afterAll(async () => {
      await Promise.all(state.clients.splice(0).map((c) => c.close()))
      await state.backend?.close()
      await state.fixture?.close()
    })

    it('declares its capabilities', () => {
      expect(state.backend.capabilities).toEqual(caps)
      expect(typeof state.backend.name).toBe('string')
    })

    describe('registry', () => registryBehaviour(state, caps, traits))
    describe('discovery watch', () => watchBehaviour(state, traits))
    const config = options.config !== false
    if (config) describe('config', () => configBehaviour(state, caps, traits))
    else describe('config', () => noConfigBehaviour(state))
    describe('errors', () => errorBehaviour(state, config))
  })
}

function registryBehaviour(state: SuiteState, caps: BackendCapabilities, traits: Traits): void {
  it('register stores the instance and resolve lists it with every field', async () => {
    const service = uniqueName('reg')
    const s = spec(service, 'i-1')
    const lease = await state.backend.register(s, {})
    expect(lease).toMatchObject({ service, instanceId: 'i-1' })
    expect(typeof lease.id).toBe('string')
    expect(lease.ttlMs).toBeGreaterThan(0)
    const snap = await state.backend.resolve(service, {})
    expect(snap.service).toBe(service)
    expect(isRevision(snap.revision)).toBe(true)
    const { ttlMs: _ttl, ...instance } = s
    expect(snap.instances).toEqual([instance])
  })

  it('register is idempotent per instance id and applies changed fields', async () => {
    const service = uniqueName('idem')
    await state.backend.register(spec(service, 'i-1'), {})
    await state.backend.register(spec(service, 'i-1', { port: 9090, metadata: { version: '2' } }), {})
    const snap = await state.backend.resolve(service, {})
    expect(ids(snap)).toEqual(['i-1'])
    expect(snap.instances[0]).toMatchObject({ port: 9090, metadata: { version: '2' } })
  })

  it('renew answers the applied TTL and keeps the instance', async () => {
    const service = uniqueName('renew')
    const lease = await state.backend.register(spec(service, 'i-1'), {})
    const renewed = await state.backend.renew(lease, {})
    expect(renewed.ttlMs).toBeGreaterThan(0)
    expect(ids(await state.backend.resolve(service, {}))).toEqual(['i-1'])
  })

  if (caps.ttl) {
    it('renew rejects with LeaseLostError once the server lost the lease; registering again restores it', async () => {
      const service = uniqueName('lost')
      const lease = await state.backend.register(spec(service, 'i-1'), {})
      await state.fixture.loseLease(lease)
      await expect(state.backend.renew(lease, {})).rejects.toBeInstanceOf(LeaseLostError)
      expect(ids(await state.backend.resolve(service, {}))).toEqual([])
      const again = await state.backend.register(spec(service, 'i-1'), {})
      await state.backend.renew(again, {})
      expect(ids(await state.backend.resolve(service, {}))).toEqual(['i-1'])
    })

    it('an instance that is not renewed expires; one that is renewed stays', async () => {
      const service = uniqueName('expiry')
      const ttlMs = state.fixture.shortTtlMs
      // Two live instances differ in port (Nacos identifies an instance by ip:port).
      const kept = await state.backend.register(spec(service, 'kept', { ttlMs, port: 8081 }), {})
      await state.backend.register(spec(service, 'lapsed', { ttlMs, port: 8082 }), {})
      const renewals = setInterval(() => void state.backend.renew(kept, {}).catch(() => undefined), Math.max(100, kept.ttlMs / 4))
      try {
        await eventually(async () => ids(await state.backend.resolve(service, {})).join() === 'kept', ttlMs * 3 + 5_000, 'lapsed instance expired')
      } finally {
        clearInterval(renewals)
      }
    })
  } else {
    it('a heartbeat puts back a registration the server lost (no TTL: nothing expires)', async () => {
      const service = uniqueName('lost')
      const lease = await state.backend.register(spec(service, 'i-1'), {})
      await state.fixture.loseLease(lease)
      expect(ids(await state.backend.resolve(service, {}))).toEqual([])
      await state.backend.renew(lease, {})
      expect(ids(await state.backend.resolve(service, {}))).toEqual(['i-1'])
    })

    it('renew of a lease this backend never granted rejects with LeaseLostError (the client re-registers)', async () => {
      const other = state.fixture.create()
      try {
        const lease = await state.backend.register(spec(uniqueName('foreign'), 'i-1'), {})
        await expect(other.renew(lease, {})).rejects.toBeInstanceOf(LeaseLostError)
      } finally {
        await other.close()
      }
    })
  }

  it('deregister removes the instance from discovery and is idempotent', async () => {
    const service = uniqueName('dereg')
    const lease = await state.backend.register(spec(service, 'i-1'), {})
    await state.backend.deregister(lease, {})
    expect(ids(await state.backend.resolve(service, {}))).toEqual([])
    await state.backend.deregister(lease, {})
  })

  if (!traits.singleInstance) {
    it('keeps several instances of one service, sorted by id', async () => {
      const service = uniqueName('multi')
      await state.backend.register(spec(service, 'b', { port: 2 }), {})
      await state.backend.register(spec(service, 'a', { port: 1 }), {})
      expect(ids(await state.backend.resolve(service, {}))).toEqual(['a', 'b'])
    })
  } else {
    it('keeps one instance per service: the last registration replaces the first', async () => {
      const service = uniqueName('single')
      await state.backend.register(spec(service, 'a', { port: 1 }), {})
      await state.backend.register(spec(service, 'b', { port: 2 }), {})
      const snap = await state.backend.resolve(service, {})
      expect(ids(snap)).toEqual(['b'])
    })
  }

  it('resolve of an unknown service is an empty snapshot with a revision', async () => {
    const snap = await state.backend.resolve(uniqueName('nobody'), {})
    expect(snap.instances).toEqual([])
    expect(isRevision(snap.revision)).toBe(true)
  })
}

function watchBehaviour(state: SuiteState, traits: Traits): void {
  it('delivers the current state, then every change, and stops on unsubscribe', async () => {
    const service = uniqueName('watch')
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = watchesOf(state, state.backend).watchService(service, rec)
    try {
      await rec.until((s) => s.instances.length === 0)
      const lease = await state.backend.register(spec(service, 'i-1'), {})
      await rec.until((s) => ids(s).join() === 'i-1')
      await state.backend.deregister(lease, {})
      const gone = rec.values.length
      await rec.until((s) => s.instances.length === 0, 10_000, gone - 1)
      // Revisions never go backwards within one watch (no reset happened).
      const revisions = rec.values.map((r) => r.meta.revision)
      for (let i = 1; i < revisions.length; i++) expect(compareRevisions(revisions[i]!, revisions[i - 1]!)).toBeGreaterThanOrEqual(0)
    } finally {
      stop()
    }
    const seen = rec.values.length
    // A second watcher seeing the next change proves the first had its chance to (and must not).
    const probe = new WatchRecorder<ServiceSnapshot>()
    const stopProbe = watchesOf(state, state.backend).watchService(service, probe)
    try {
      await probe.until(() => true)
      await state.backend.register(spec(service, 'i-2'), {})
      await probe.until((s) => ids(s).includes('i-2'))
    } finally {
      stopProbe()
    }
    expect(rec.values.length).toBe(seen)
  })

  it('with afterRevision, delivers only changes after it', async () => {
    const service = uniqueName('after')
    await state.backend.register(spec(service, 'i-1'), {})
    const snap = await state.backend.resolve(service, {})
    const rec = new WatchRecorder<ServiceSnapshot>()
    const stop = watchesOf(state, state.backend).watchService(service, rec, { afterRevision: snap.revision })
    try {
      await state.backend.register(spec(service, 'i-2', { port: 2 }), {})
      const hit = await rec.until((s) => s.instances.length > 0)
      if (!traits.singleInstance) expect(ids(hit.value)).toEqual(['i-1', 'i-2'])
      else expect(ids(hit.value)).toEqual(['i-2'])
      expect(compareRevisions(hit.meta.revision, snap.revision)).toBeGreaterThan(0)
      expect(rec.values[0]).toBe(hit)
    } finally {
      stop()
    }
  })
}

function configBehaviour(state: SuiteState, caps: BackendCapabilities, traits: Traits): void {
  it('get of a missing key is undefined; put then get round-trips any JSON value', async () => {
    const key = uniqueName('cfg')
    expect(await state.backend.getConfig(key, {})).toBeUndefined()
    const values: unknown[] = [{ limits: { rps: 10 }, flags: ['a', 'b'] }, [1, 2, 3], 'text é', 42, true, null]
    let previous: ConfigEntry | undefined
    for (const value of values) {
      const put = await state.backend.putConfig!(key, value, {}, {})
      expect(put).toMatchObject({ key, value })
      expect(isRevision(put.version)).toBe(true)
      if (previous !== undefined) expect(compareRevisions(put.version, previous.version)).toBeGreaterThan(0)
      expect(await state.backend.getConfig(key, {})).toEqual(put)
      previous = put
    }
  })

  if (caps.compareAndSet) {
    it('put with ifVersion is a compare-and-set: a stale version loses with ConflictError', async () => {
      const key = uniqueName('cas')
      const created = await state.backend.putConfig!(key, 1, { ifVersion: '0' }, {})
      await expect(state.backend.putConfig!(key, 2, { ifVersion: '0' }, {})).rejects.toBeInstanceOf(ConflictError)
      const second = await state.backend.putConfig!(key, 2, { ifVersion: created.version }, {})
      const lost = await state.backend.putConfig!(key, 3, { ifVersion: created.version }, {}).catch((e: unknown) => e)
      expect(lost).toBeInstanceOf(ConflictError)
      expect((lost as ConflictError).details?.currentVersion).toBe(second.version)
      expect((await state.backend.getConfig(key, {}))?.value).toBe(2)
    })
  }

  if (traits.configDeletes) {
    it('deleteConfig removes a key and answers false when there was none', async () => {
      const key = uniqueName('del')
      await state.backend.putConfig!(key, 'x', {}, {})
      expect(await state.backend.deleteConfig!(key, {}, {})).toBe(true)
      expect(await state.backend.getConfig(key, {})).toBeUndefined()
      expect(await state.backend.deleteConfig!(key, {}, {})).toBe(false)
    })
  }

  it('watchConfig delivers the current value, then every change, in order', async () => {
    const key = uniqueName('cfgwatch')
    const rec = new WatchRecorder<ConfigEntry | undefined>()
    const stop = watchesOf(state, state.backend).watchConfig(key, rec)
    try {
      await rec.until((v) => v === undefined)
      for (let n = 1; n <= 3; n++) {
        await state.backend.putConfig!(key, { n }, {}, {})
        await rec.until((v) => (v?.value as { n?: number } | undefined)?.n === n)
      }
      const ns = rec.values.map((r) => (r.value?.value as { n?: number } | undefined)?.n ?? 0)
      expect([...ns].sort()).toEqual(ns) // never backwards
    } finally {
      stop()
    }
  })
}

function noConfigBehaviour(state: SuiteState): void {
  it('declares no config: getConfig rejects with NotSupportedError and there are no config writes', async () => {
    await expect(state.backend.getConfig(uniqueName('cfg'), {})).rejects.toBeInstanceOf(NotSupportedError)
    expect(state.backend.putConfig).toBeUndefined()
    expect(state.backend.watchConfig).toBeUndefined()
    expect(state.backend.capabilities.compareAndSet).toBe(false)
    expect(state.backend.deleteConfig).toBeUndefined()
  })
}

/** A watch of whatever the backend can watch: config when it has config, else a service. */
function watchSomething(state: SuiteState, backend: Backend, config: boolean, rec: WatchRecorder<unknown>): () => void {
  const name = uniqueName('watched')
  const watches = watchesOf(state, backend)
  return config ? watches.watchConfig(name, rec as WatchRecorder<ConfigEntry | undefined>) : watches.watchService(name, rec as WatchRecorder<ServiceSnapshot>)
}

interface Traits {
  readonly singleInstance: boolean
  readonly configDeletes: boolean
}

function errorBehaviour(state: SuiteState, config: boolean): void {
  it('an unreachable server fails calls with a retryable GovernanceError', async () => {
    const dead = state.fixture.createUnreachable()
    try {
      for (const call of [
        () => dead.register(spec('svc', 'i-1'), { timeoutMs: 2_000 }),
        () => dead.resolve('svc', { timeoutMs: 2_000 }),
        ...(config ? [() => dead.getConfig('key', { timeoutMs: 2_000 })] : []),
      ]) {
        const error = await call().catch((e: unknown) => e)
        expect(error).toBeInstanceOf(GovernanceError)
        expect((error as GovernanceError).retryable).toBe(true)
      }
    } finally {
      await dead.close()
    }
  })

  it('a watch on an unreachable server reports errors and keeps trying until unsubscribed', async () => {
    const dead = state.fixture.createUnreachable()
    const rec = new WatchRecorder<unknown>()
    const stop = watchSomething(state, dead, config, rec)
    try {
      await eventually(() => rec.errors.length >= 2, 15_000, 'two watch errors')
      expect(rec.errors.every((e) => e instanceof GovernanceError)).toBe(true)
      expect(rec.values).toEqual([])
    } finally {
      stop()
      await dead.close()
    }
  })

  it('invalid arguments are rejected as invalid (never as a retryable failure)', async () => {
    // Checked by the backend itself (InvalidArgumentError) or by the server (a 4xx): either
    // way the core must not retry the call.
    const invalid = async (call: () => Promise<unknown>): Promise<void> => {
      const error = await call().then(() => undefined, (e: unknown) => e)
      expect(error).toBeInstanceOf(GovernanceError)
      expect(['GOV_INVALID_ARGUMENT', 'GOV_REQUEST_REJECTED']).toContain((error as GovernanceError).code)
      expect((error as GovernanceError).retryable).toBe(false)
    }
    await invalid(() => state.backend.resolve('', {}))
    await invalid(() => state.backend.register(spec('', 'i-1'), {}))
    if (!config) return
    await invalid(() => state.backend.getConfig('', {}))
    await expect(state.backend.putConfig!(uniqueName('k'), undefined, {}, {})).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('an aborted call rejects with the signal\'s reason', async () => {
    const reason = new Error('caller gave up')
    const controller = new AbortController()
    controller.abort(reason)
    await expect(state.backend.resolve(uniqueName('abort'), { signal: controller.signal })).rejects.toBe(reason)
    if (config) await expect(state.backend.getConfig(uniqueName('abort'), { signal: controller.signal })).rejects.toBe(reason)
  })

  it('close() is idempotent and later calls fail with ClientClosedError', async () => {
    const b = state.fixture.create()
    const rec = new WatchRecorder<unknown>()
    watchSomething(state, b, config, rec)
    await rec.until(() => true)
    await b.close()
    await b.close()
    await expect(b.resolve('svc', {})).rejects.toBeInstanceOf(ClientClosedError)
  })
}
