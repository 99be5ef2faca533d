/**
 * Watches never starve calls (issue 11, item 1): one client holding 64 config watches and
 * 64 discovered services (per-resource blocking queries on the reference server,
 * `watchMux: false`) keeps its registration alive on a 1 s heartbeat with a 4 s TTL, and
 * its config writes stay fast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpBackend } from '../../src/backends/http/index.js'
import { GovernanceClient } from '../../src/index.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'

const WATCHES = 64
const SAMPLES = 20

describe('held requests have a connection budget of their own', () => {
  let server: GovernanceServer
  let gov: GovernanceClient
  const stops: (() => void)[] = []

  beforeAll(async () => {
    server = await createGovernanceServer({ port: 0, host: '127.0.0.1' })
  })

  afterAll(async () => {
    for (const stop of stops) stop()
    await gov?.close()
    await server?.close()
  })

  it(`${WATCHES} config watches + ${WATCHES} watched services: present in every sample, put < 1 s`, async () => {
    gov = new GovernanceClient({
      // Per-resource blocking queries (the multiplexed watch is tested on its own).
      backend: httpBackend({ server: server.url, watchMux: false }),
      service: { name: 'held-budget', port: 8080, address: '127.0.0.1' },
      heartbeatIntervalMs: 1_000,
      ttlMs: 4_000,
      logger: false,
      metrics: false,
    })
    await gov.register()
    for (let i = 0; i < WATCHES; i++) {
      stops.push(gov.config.watch(`held.key-${i}`, () => undefined))
    }
    // discover() keeps each service fresh with a watch of its own.
    await Promise.all(Array.from({ length: WATCHES }, (_, i) => gov.discover(`held-svc-${i}`)))
    // Watches now sit in blocking queries; the observer has connections of its own.
    const observer = httpBackend({ server: server.url, requestTimeoutMs: 2_000 })
    const present: boolean[] = []
    const putMs: number[] = []
    try {
      for (let s = 0; s < SAMPLES; s++) {
        const tick = Date.now()
        const listed = await observer.resolve('held-budget', {})
        present.push(listed.instances.some((i) => i.address === '127.0.0.1' && i.port === 8080))
        const started = performance.now()
        await gov.config.put(`held.key-${s % WATCHES}`, { sample: s })
        putMs.push(performance.now() - started)
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1_000 - (Date.now() - tick))))
      }
    } finally {
      await observer.close()
    }
    expect(present.filter((p) => !p)).toEqual([])
    expect(Math.max(...putMs)).toBeLessThan(1_000)
  }, 60_000)
})
