/**
 * Honest freshness against a real reference server in its own process, frozen with SIGSTOP:
 * while it answers, unchanged blocking answers keep discovery live and young; once it stops
 * confirming, discover() answers at once with a growing ageMs and a source that is not
 * 'live', discovery:stale fires, and SIGCONT brings it back (discovery:recovered).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { httpBackend } from '../../src/backends/http/index.js'
import { GovernanceClient } from '../../src/client.js'
import type { GovernanceEvents } from '../../src/events.js'
import { eventually } from '../backends/watch-recorder.js'
import { startInstance, startServerProcess } from './discovery-processes.js'
import { WATCH_FORMS } from '../helpers/watch-forms.js'

const clients: GovernanceClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('freshness with a frozen server (SIGSTOP)', () => {
  it.each(WATCH_FORMS)('over $form: ageMs grows and source leaves live once confirmations stop; stale and recovered fire', async ({ options }) => {
    const server = await startServerProcess()
    await startInstance(server.url, 'fresh', 'fresh-1')
    const backend = httpBackend({ server: server.url, requestTimeoutMs: 1_000, ...options })
    const gov = new GovernanceClient({ backend, logger: false, metrics: false, requestTimeoutMs: 1_000, discovery: { maxStalenessMs: 4_000, refreshAheadMs: 1_000 } })
    clients.push(gov)
    const stale: GovernanceEvents['discovery:stale'][] = []
    const recovered: string[] = []
    gov.on('discovery:stale', (e) => stale.push(e))
    gov.on('discovery:recovered', (e) => recovered.push(e.service))
    await gov.config.put('fresh.settings', { limit: 1 })
    gov.config.watch('fresh.settings', () => {})
    expect((await gov.discover('fresh')).map((i) => i.id)).toEqual(['fresh-1'])

    // Healthy and idle: the age stays near the confirmation interval, never near the probe (3 s).
    let healthyMax = 0
    for (let i = 0; i < 10; i++) {
      await sleep(400)
      const list = await gov.discover('fresh')
      expect(list.source).toBe('live')
      healthyMax = Math.max(healthyMax, list.ageMs)
    }
    expect(healthyMax).toBeLessThan(2_000)
    expect(stale).toEqual([])

    server.child.kill('SIGSTOP')
    try {
      const ages: number[] = []
      let lastSource = 'live'
      const frozenAt = performance.now()
      while (performance.now() - frozenAt < 7_000) {
        const asked = performance.now()
        const list = await gov.discover('fresh')
        // Served from memory at once, not held for a refresh a hung server never answers.
        expect(performance.now() - asked).toBeLessThan(1_500)
        expect(list.map((i) => i.id)).toEqual(['fresh-1'])
        ages.push(list.ageMs)
        lastSource = list.source
        await sleep(250)
      }
      expect(ages.at(-1)!).toBeGreaterThan(6_000)
      expect(ages.at(-1)!).toBeGreaterThan(ages[0]!)
      expect(lastSource).toBe('memory')
      expect(stale.map((e) => e.service)).toEqual(['fresh'])
      // Whichever noticed first (the watch's own deadline or the silence bound), after some silence.
      expect(stale[0]!.ageMs).toBeGreaterThanOrEqual(1_000)
      // A watched config key ages the same way: from its last confirmation.
      const config = await gov.config.get('fresh.settings')
      expect(config).toMatchObject({ value: { limit: 1 }, source: 'memory' })
      expect(config!.ageMs).toBeGreaterThan(5_000)
    } finally {
      server.child.kill('SIGCONT')
    }
    await eventually(() => recovered.includes('fresh'), 15_000, 'discovery:recovered after SIGCONT')
    const back = await gov.discover('fresh')
    expect(back.source).toBe('live')
    expect(back.ageMs).toBeLessThan(2_000)
  }, 60_000)
})
