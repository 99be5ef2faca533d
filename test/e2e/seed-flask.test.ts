/**
 * The seed backend against the seed document's real Flask centers (python3 + Flask): a
 * deregistered instance leaves a tombstone in the registry center, and other clients stop
 * discovering it, as docs/backends/seed.md says; registering again brings it back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedBackend } from '../../src/backends/seed/index.js'
import { GovernanceClient } from '../../src/index.js'
import { silentLogger } from '../../src/internal/logger.js'
import { flaskAvailable, startFlaskCenters, type FlaskCenters } from '../helpers/flask-seed.js'

const available = flaskAvailable('the seed Flask tests')

describe.skipIf(!available)('seed backend on the real Flask centers', () => {
  let centers: FlaskCenters
  beforeAll(async () => {
    centers = await startFlaskCenters()
  })
  afterAll(() => centers?.stop())

  // The watcher turns empty protection off: holding a vanished sole instance is discovery's
  // policy (docs/discovery.md), not the backend's; this test is about the tombstone.
  const client = (withService: boolean, discovery: { emptyProtection?: boolean } = {}): GovernanceClient =>
    new GovernanceClient({
      // The centers cannot push: the client polls them, every 100 ms here.
      discovery: { pollIntervalMs: 100, ...discovery },
      backend: seedBackend({ registry: centers.registry, monitor: centers.monitor, config: centers.config, logger: silentLogger }),
      ...(withService && { service: { name: 'payments', port: 9000, address: '127.0.0.1', id: 'pay-1' } }),
      logger: false,
      metrics: false,
      handleSignals: false,
    })

  const stored = async (): Promise<Record<string, unknown>> => (await (await fetch(`${centers.registry}/query?name=payments`)).json()) as Record<string, unknown>

  it('deregister() writes the tombstone and other clients stop discovering the instance', async () => {
    const owner = client(true)
    const watcher = client(false, { emptyProtection: false })
    try {
      await owner.register()
      expect(await stored()).toMatchObject({ name: 'payments', id: 'pay-1', status: 'UP' })
      expect((await watcher.discover('payments')).map((i) => i.id)).toEqual(['pay-1'])

      await owner.deregister()
      expect(await stored()).toMatchObject({ name: 'payments', id: 'pay-1', status: 'DOWN', deregistered: true })
      // A client starting now sees no instance; the one that watched stops seeing it.
      const fresh = client(false)
      try {
        expect(await fresh.discover('payments', { status: 'any' })).toHaveLength(0)
      } finally {
        await fresh.close()
      }
      await expect.poll(async () => (await watcher.discover('payments', { status: 'any' })).length).toBe(0)

      await owner.register()
      expect(await stored()).toMatchObject({ id: 'pay-1', status: 'UP' })
      expect((await stored())['deregistered']).toBeUndefined()
      await expect.poll(async () => (await watcher.discover('payments')).map((i) => i.id)).toEqual(['pay-1'])
    } finally {
      await Promise.all([owner.close(), watcher.close()])
    }
  })

  it('close() deregisters too: the record is a tombstone afterwards', async () => {
    const owner = client(true)
    await owner.register()
    await owner.close()
    expect(await stored()).toMatchObject({ id: 'pay-1', deregistered: true, status: 'DOWN' })
  })
})
