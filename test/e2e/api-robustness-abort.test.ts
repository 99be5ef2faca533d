/**
 * Every network call takes `{ signal }`: a pre-aborted signal and one aborted mid-flight
 * reject with the signal's own reason, promptly, and the client works normally afterwards.
 * On the test registry (slowed answers make "mid-flight" real) and on the reference server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GovernanceClient, GovernanceError } from '../../src/index.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import { createTestRegistry, type MemoryOperation, type TestRegistry } from '../../src/testing/index.js'
import { captureProcessFailures, failureOf, TimerTracker } from './api-robustness-helpers.js'

captureProcessFailures()

/** How soon after abort() the call must have rejected. */
const PROMPT_MS = 400

class Reason extends Error {
  override readonly name = 'Reason'
}

/** The calls that take a signal, each on its own fresh target so no cache answers first. */
type SignalCall = (gov: GovernanceClient, signal: AbortSignal, n: number) => Promise<unknown>
const calls: Record<string, { op: MemoryOperation | undefined; call: SignalCall }> = {
  register: { op: 'register', call: (gov, signal) => gov.register({ signal }) },
  discover: { op: 'resolve', call: (gov, signal, n) => gov.discover(`svc-d${n}`, { signal }) },
  pick: { op: 'resolve', call: (gov, signal, n) => gov.pick(`svc-p${n}`, { signal }) },
  'config.get': { op: 'getConfig', call: (gov, signal, n) => gov.config.get(`key-g${n}`, { signal }) },
  'config.put': { op: 'putConfig', call: (gov, signal, n) => gov.config.put(`key-p${n}`, { n }, { signal }) },
  'config.delete': { op: 'deleteConfig', call: (gov, signal, n) => gov.config.delete(`key-d${n}`, { signal }) },
  'metrics.flush': { op: 'exportMetrics', call: (gov, signal) => gov.metrics.flush({ signal }) },
}

async function expectAbortedBy(label: string, promise: () => Promise<unknown>, reason: Reason): Promise<void> {
  const { error, sync } = await failureOf(label, promise)
  expect(sync, `${label}: threw synchronously`).toBe(false)
  expect(error, `${label}: must reject with the signal's own reason`).toBe(reason)
}

describe('aborts on the test registry', () => {
  let registry: TestRegistry
  let gov: GovernanceClient
  const timers = new TimerTracker()

  beforeAll(() => {
    timers.start()
    registry = createTestRegistry()
    registry.addInstance({ service: 'payments', id: 'pay-1', address: '127.0.0.1', port: 9 })
    for (let n = 0; n < 4; n++) {
      registry.addInstance({ service: `svc-d${n}`, id: 'a', address: '127.0.0.1', port: 9 })
      registry.addInstance({ service: `svc-p${n}`, id: 'a', address: '127.0.0.1', port: 9 })
    }
    gov = new GovernanceClient({
      backend: registry.backend(),
      service: { name: 'orders', port: 8080, address: '127.0.0.1' },
      heartbeatIntervalMs: 200,
      requestTimeoutMs: 5_000,
      logger: false,
      metrics: { processMetrics: false, flushIntervalMs: 60_000 },
    })
  })

  afterAll(async () => {
    await gov.close()
    await registry.close()
    expect(timers.stop(), 'timers left behind').toEqual([])
  })

  it.each(Object.keys(calls))('%s: a pre-aborted signal rejects with its reason, and nothing is sent', async (name) => {
    const { call, op } = calls[name]!
    const reason = new Reason(`pre-aborted ${name}`)
    const before = op === undefined ? 0 : registry.count(op)
    await expectAbortedBy(name, () => call(gov, AbortSignal.abort(reason), 0), reason)
    if (op !== undefined) expect(registry.count(op), `${name}: reached the registry`).toBe(before)
  })

  it.each(Object.keys(calls))('%s: an abort mid-flight rejects with its reason at once', async (name) => {
    const { call, op } = calls[name]!
    gov.metrics.counter('abort_total').inc() // something for flush() to send
    // Long enough to abort in the middle; short, since an aborted flush() lets the export in
    // progress finish on its own (docs/metrics.md) and the next flush() waits for it.
    registry.slow(op!, 1_000)
    try {
      const controller = new AbortController()
      const reason = new Reason(`mid-flight ${name}`)
      const before = registry.count(op!)
      const pending = call(gov, controller.signal, 1)
      pending.catch(() => {})
      // Mid-flight: the registry has the call and is sitting on it.
      await expect.poll(() => registry.count(op!), { timeout: 5_000, interval: 5 }).toBeGreaterThan(before)
      const abortedAt = performance.now()
      controller.abort(reason)
      await expectAbortedBy(name, () => pending, reason)
      expect(performance.now() - abortedAt).toBeLessThan(PROMPT_MS)
    } finally {
      registry.slow(op!, 0)
    }
  })

  it('works normally after all those aborts', async () => {
    await gov.register()
    expect(gov.registrationState).toBe('registered')
    // Other services than the aborted ones: an aborted caller stops waiting for a shared load,
    // which goes on (within requestTimeoutMs) for the callers after it.
    expect((await gov.discover('svc-d2')).map((i) => i.id)).toEqual(['a'])
    expect((await gov.pick('svc-p2')).id).toBe('a')
    const put = await gov.config.put('key-p1', { n: 2 })
    expect((await gov.config.get('key-p1'))?.version).toBe(put.version)
    expect(await gov.config.delete('key-p1')).toBe(true)
    registry.clearRecords()
    await gov.metrics.flush()
    expect(registry.metricPoints('abort_total').length).toBeGreaterThan(0)
  })

  it('aborting after the call settled changes nothing; an abort on a warm cache still rejects', async () => {
    const controller = new AbortController()
    const list = await gov.discover('payments', { signal: controller.signal })
    controller.abort(new Reason('late'))
    expect(list.map((i) => i.id)).toEqual(['pay-1'])
    const reason = new Reason('warm')
    await expectAbortedBy('warm discover', () => gov.discover('payments', { signal: AbortSignal.abort(reason) }), reason)
    await expectAbortedBy('warm pick', () => gov.pick('payments', { signal: AbortSignal.abort(reason) }), reason)
    // Reasons that are not Errors are passed on as they are too.
    await expectAbortedBy('string reason', () => gov.config.get('x', { signal: AbortSignal.abort('just a string') as AbortSignal }), 'just a string' as never)
  })

  it('deregister and setStatus honour their signal too', async () => {
    const reason = new Reason('status')
    await expectAbortedBy('setStatus pre-aborted', () => gov.setStatus('DOWN', { signal: AbortSignal.abort(reason) }), reason)
    expect(gov.status).toBe('UP')
    await expectAbortedBy('deregister pre-aborted', () => gov.deregister({ signal: AbortSignal.abort(reason) }), reason)
    expect(gov.registrationState).toBe('registered')
  })
})

describe('aborts on the reference server, and gov.fetch', () => {
  let server: GovernanceServer
  let gov: GovernanceClient
  let upstream: ReturnType<typeof createServer>
  const held: ServerResponse[] = []
  const arrived: IncomingMessage[] = []

  beforeAll(async () => {
    server = await createGovernanceServer({ port: 0 })
    // An instance that holds every request until the test ends: fetch has something to abort.
    upstream = createServer((req, res) => {
      arrived.push(req)
      held.push(res)
      upstream.emit('held')
    })
    upstream.listen(0, '127.0.0.1')
    await once(upstream, 'listening')
    const port = (upstream.address() as AddressInfo).port
    const peer = new GovernanceClient({ server: server.url, service: { name: 'slow', port, address: '127.0.0.1' }, logger: false, metrics: false })
    await peer.register()
    // The peer stays registered until the server stops (its TTL outlives the test).
    void peer.backend.close()
    gov = new GovernanceClient({
      server: server.url,
      service: { name: 'orders', port: 8080, address: '127.0.0.1' },
      logger: false,
      metrics: { processMetrics: false },
    })
  })

  afterAll(async () => {
    for (const res of held) res.destroy()
    await gov.close()
    upstream.closeAllConnections()
    await new Promise((resolve) => upstream.close(resolve))
    await server.close()
  })

  it.each(Object.keys(calls))('%s: pre-aborted, and aborted right after the call', async (name) => {
    const { call } = calls[name]!
    gov.metrics.counter('abort_total').inc()
    const pre = new Reason(`pre ${name}`)
    await expectAbortedBy(`${name} pre-aborted`, () => call(gov, AbortSignal.abort(pre), 2), pre)
    const controller = new AbortController()
    const reason = new Reason(`soon ${name}`)
    const pending = call(gov, controller.signal, 3)
    pending.catch(() => {})
    controller.abort(reason)
    await expectAbortedBy(`${name} aborted at once`, () => pending, reason)
  })

  it('gov.fetch: pre-aborted, and aborted while the instance holds the request', async () => {
    const pre = new Reason('pre fetch')
    await expectAbortedBy('fetch pre-aborted', () => gov.fetch('http://slow/x', { signal: AbortSignal.abort(pre) }), pre)
    const controller = new AbortController()
    const reason = new Reason('fetch mid-flight')
    const heldNow = once(upstream, 'held')
    const pending = gov.fetch('http://slow/x', { signal: controller.signal })
    pending.catch(() => {})
    await heldNow
    const abortedAt = performance.now()
    controller.abort(reason)
    await expectAbortedBy('fetch mid-flight', () => pending, reason)
    expect(performance.now() - abortedAt).toBeLessThan(PROMPT_MS)
  })

  it('close() finishes while an instance still holds a routed request, which then fails with a GovernanceError', async () => {
    const client = new GovernanceClient({ server: server.url, requestTimeoutMs: 300, logger: false, metrics: false })
    const heldNow = once(upstream, 'held')
    const pending = client.fetch('http://slow/z')
    pending.catch(() => {})
    await heldNow
    const started = performance.now()
    await client.close()
    expect(performance.now() - started).toBeLessThan(300 + 1_000)
    await expect(pending).rejects.toBeInstanceOf(GovernanceError)
  })

  it('works normally afterwards', async () => {
    await gov.register()
    expect((await gov.discover('slow')).length).toBe(1)
    const written = await gov.config.put('after', { ok: true })
    expect((await gov.config.get('after'))?.version).toBe(written.version)
    await gov.metrics.flush()
    const controller = new AbortController()
    const heldNow = once(upstream, 'held')
    const pending = gov.fetch('http://slow/y', { signal: controller.signal })
    await heldNow
    held.at(-1)!.end('done')
    expect(await (await pending).text()).toBe('done')
    expect(arrived.length).toBeGreaterThan(0)
  })
})
