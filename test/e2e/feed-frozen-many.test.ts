/**
 * Many watches on one client through the feed engine (src/feed/) and the one protocol v1
 * handler (src/server/protocol/), against a reference server in its own process frozen with
 * SIGSTOP: 64 discovered services and 64 watched config keys on one client, over both watch
 * forms. While frozen, every service is served from memory at once and goes stale; after
 * SIGCONT every one recovers and every watch delivers the next change.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { GovernanceClient } from '../../src/client.js'
import { eventually } from '../backends/watch-recorder.js'
import { startServerProcess } from './discovery-processes.js'
import { WATCH_FORMS } from '../helpers/watch-forms.js'

const SERVICES = 64
const KEYS = 64
const FREEZE_MS = 7_000

const closers: (() => Promise<unknown>)[] = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)))
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

async function register(writer: Backend, service: string, id: string, port: number): Promise<void> {
  await writer.register({ id, service, address: '10.2.0.1', port, status: 'UP', metadata: {}, tags: [], weight: 1, ttlMs: 120_000 }, {})
}

describe('64 services and 64 config keys on one client, server frozen (SIGSTOP)', () => {
  it.each(WATCH_FORMS)('over $form: all served from memory and stale while frozen, all recovered and current after', async ({ options }) => {
    const server = await startServerProcess()
    closers.push(async () => {
      server.child.kill('SIGCONT')
      server.child.kill('SIGKILL')
      await server.exited
    })
    const writer = httpBackend({ server: server.url, requestTimeoutMs: 5_000, watchMux: false })
    closers.push(() => writer.close())
    const services = range(SERVICES).map((i) => `many-${i}`)
    const keys = range(KEYS).map((i) => `many.cfg-${i}`)
    await Promise.all(services.map((s, i) => register(writer, s, `${s}-a`, 9_000 + i)))
    await Promise.all(keys.map((k) => writer.putConfig!(k, { n: 0 }, {}, {})))

    const gov = new GovernanceClient({
      backend: httpBackend({ server: server.url, requestTimeoutMs: 1_000, ...options }),
      logger: false,
      metrics: false,
      requestTimeoutMs: 1_000,
      discovery: { maxStalenessMs: 4_000, refreshAheadMs: 1_000 },
    })
    closers.push(() => gov.close())
    const stale = new Set<string>()
    const recovered = new Set<string>()
    gov.on('discovery:stale', (e) => stale.add(e.service))
    gov.on('discovery:recovered', (e) => recovered.add(e.service))
    const latest = new Map<string, number>()
    for (const key of keys) gov.config.watch(key, (value) => void latest.set(key, (value as { n: number }).n))
    for (const s of services) expect((await gov.discover(s)).map((i) => i.id)).toEqual([`${s}-a`])
    await eventually(() => keys.every((k) => latest.get(k) === 0), 10_000, 'every config watch has its first value')
    expect(stale.size).toBe(0)

    server.child.kill('SIGSTOP')
    try {
      const frozenAt = performance.now()
      let answers: Awaited<ReturnType<GovernanceClient['discover']>>[] = []
      while (performance.now() - frozenAt < FREEZE_MS) {
        const asked = performance.now()
        answers = await Promise.all(services.map((s) => gov.discover(s)))
        // All 64 from memory at once: none waits for a refresh a hung server never answers.
        expect(performance.now() - asked).toBeLessThan(1_500)
        await sleep(500)
      }
      expect(answers.map((a) => a.map((i) => i.id))).toEqual(services.map((s) => [`${s}-a`]))
      expect(services.filter((_, i) => answers[i]!.source === 'live')).toEqual([])
      expect(Math.min(...answers.map((a) => a.ageMs))).toBeGreaterThan(4_000)
      expect([...stale].sort()).toEqual([...services].sort())
      const configs = await Promise.all(keys.map((k) => gov.config.get(k)))
      expect(configs.map((c) => c?.value)).toEqual(keys.map(() => ({ n: 0 })))
      expect(configs.filter((c) => c?.source === 'live')).toEqual([])
    } finally {
      server.child.kill('SIGCONT')
    }

    await eventually(() => services.every((s) => recovered.has(s)), 20_000, 'discovery:recovered for every service')
    // Every watch follows the next change once the server answers again.
    await Promise.all(services.map((s, i) => register(writer, s, `${s}-b`, 9_500 + i)))
    await Promise.all(keys.map((k) => writer.putConfig!(k, { n: 1 }, {}, {})))
    await eventually(() => keys.every((k) => latest.get(k) === 1), 15_000, 'every config watch delivered { n: 1 }')
    await eventually(async () => (await Promise.all(services.map((s) => gov.discover(s)))).every((a) => a.length === 2 && a.source === 'live'), 15_000, 'every service shows its second instance, live')
  }, 90_000)
})
