/**
 * Explicit leaves are honoured, lost registry data is not, against real processes: the
 * reference server (the CLI) and service instances in their own processes.
 * - SIGTERM of the sole instance (DOWN, then deregistered): callers stop routing within 1 s.
 * - setStatus('OUT_OF_SERVICE') on the sole instance: discover() empty within 1 s, seen by a
 *   gov.subscribe() that outlived idleWatchMs with no discover() call.
 * - a server restart (index reset, registry empty): callers keep their set, source 'protected'.
 * - close() of a client that discovers its own service warns about nothing.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { GovernanceClient } from '../../src/client.js'
import type { GovernanceEvents } from '../../src/events.js'
import type { Logger } from '../../src/internal/logger.js'
import type { ServiceChange } from '../../src/discovery/index.js'
import { eventually } from '../backends/watch-recorder.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { onCleanup } from '../server/helpers.js'
import { startInstance, startServerProcess } from './discovery-processes.js'

const clients: GovernanceClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

function caller(server: string, discovery: Record<string, unknown> = {}): GovernanceClient {
  const gov = new GovernanceClient({ server, logger: false, metrics: false, requestTimeoutMs: 1_000, discovery: { recoveryBackoff: { minDelayMs: 50, maxDelayMs: 300 }, ...discovery } })
  clients.push(gov)
  return gov
}

/** Polls discover() until it is empty; the ms it took from `since`. */
async function emptyWithin(gov: GovernanceClient, service: string, since: number): Promise<number> {
  await eventually(async () => (await gov.discover(service)).length === 0, 10_000, `${service} empty`)
  return performance.now() - since
}

describe('explicit leaves', () => {
  it('SIGTERM of the sole instance: callers stop routing to it within 1 s', async () => {
    const server = await startServerProcess()
    const instance = await startInstance(server.url, 'payments', 'pay-1')
    const gov = caller(server.url)
    const protectedEvents: unknown[] = []
    gov.on('discovery:protected', (e) => protectedEvents.push(e))
    expect((await gov.discover('payments')).map((i) => i.id)).toEqual(['pay-1'])
    expect(gov.pickSync('payments')?.id).toBe('pay-1')
    expect(await gov.services()).toEqual(['payments'])

    const termAt = performance.now()
    instance.child.kill('SIGTERM')
    const tookMs = await emptyWithin(gov, 'payments', termAt)
    expect(tookMs).toBeLessThan(1_000)
    expect(gov.pickSync('payments')).toBeUndefined()
    const list = await gov.discover('payments')
    expect(list.source).toBe('live')
    await instance.exited
    expect(protectedEvents).toEqual([])
    expect(await gov.services()).toEqual([])
  }, 30_000)

  it("setStatus('OUT_OF_SERVICE') on the sole instance: a lasting subscription sees it and discover() is empty within 1 s", async () => {
    const server = await startServerProcess()
    const instance = await startInstance(server.url, 'ledger', 'ledger-1')
    const gov = caller(server.url, { idleWatchMs: 1_000 })
    const changes: ServiceChange[] = []
    const stop = gov.subscribe('ledger', (change) => changes.push(change))
    await eventually(() => changes.length === 1, 10_000, 'the first state')
    expect(changes[0]!.first).toBe(true)
    // Past idleWatchMs (and its sweep) with no discover() call: the subscription holds the watch.
    await new Promise((resolve) => setTimeout(resolve, 2_500))

    const setAt = performance.now()
    instance.send('status OUT_OF_SERVICE')
    await eventually(() => changes.some((c) => c.diff.changed.some((i) => i.status === 'OUT_OF_SERVICE')), 10_000, 'the subscription seeing OUT_OF_SERVICE')
    const tookMs = await emptyWithin(gov, 'ledger', setAt)
    expect(tookMs).toBeLessThan(1_000)
    expect((await gov.discover('ledger', { status: 'any' })).map((i) => i.status)).toEqual(['OUT_OF_SERVICE'])
    await expect(gov.pick('ledger')).rejects.toMatchObject({ code: 'GOV_NO_AVAILABLE_INSTANCE' })
    stop()
  }, 30_000)
})

describe('lost registry data', () => {
  it('a server restart keeps callers\u2019 sets (source protected) until the instance is back', async () => {
    const first = await startServerProcess()
    const proxy = await startTcpProxy(first.url)
    onCleanup(() => proxy.close())
    const instance = await startInstance(proxy.url, 'inventory', 'inv-1')
    const gov = caller(proxy.url)
    const events: { name: string; payload: unknown }[] = []
    gov.on('discovery:protected', (p: GovernanceEvents['discovery:protected']) => events.push({ name: 'protected', payload: p }))
    gov.on('discovery:unprotected', (p: GovernanceEvents['discovery:unprotected']) => events.push({ name: 'unprotected', payload: p }))
    expect((await gov.discover('inventory')).map((i) => i.id)).toEqual(['inv-1'])

    // The instance is frozen so that it cannot register again at once; the server restarts empty.
    instance.child.kill('SIGSTOP')
    try {
      first.child.kill('SIGKILL')
      await first.exited
      const second = await startServerProcess()
      proxy.retarget(second.url)
      proxy.cut()
      await eventually(() => events.some((e) => e.name === 'protected'), 10_000, 'discovery:protected')
      const held = await gov.discover('inventory')
      expect(held.map((i) => i.id)).toEqual(['inv-1'])
      expect(held.source).toBe('protected')
      const age = held.ageMs
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(held.ageMs).toBeGreaterThan(age)
      expect(events[0]!.payload).toMatchObject({ service: 'inventory', reason: 'reset', instances: 1 })
    } finally {
      instance.child.kill('SIGCONT')
    }
    // Its next heartbeat finds the lease gone and registers again: the hold ends, live again.
    await eventually(() => events.some((e) => e.name === 'unprotected'), 15_000, 'discovery:unprotected')
    expect(events.at(-1)!.payload).toMatchObject({ service: 'inventory', outcome: 'recovered' })
    const back = await gov.discover('inventory')
    expect(back.map((i) => i.id)).toEqual(['inv-1'])
    expect(back.source).toBe('live')
  }, 60_000)
})

describe('close()', () => {
  it('does not warn about the client\u2019s own service', async () => {
    const server = await startServerProcess()
    const warnings: string[] = []
    const logger: Logger = { debug: () => {}, info: () => {}, warn: (message) => warnings.push(message), error: (message) => warnings.push(message) }
    const gov = new GovernanceClient({
      server: server.url,
      service: { name: 'selfie', port: 9300, address: '127.0.0.1' },
      drainMs: 200,
      logger,
      metrics: false,
      requestTimeoutMs: 1_000,
    })
    await gov.register()
    expect((await gov.discover('selfie')).length).toBe(1)
    await gov.close()
    expect(warnings).toEqual([])
  }, 30_000)
})
