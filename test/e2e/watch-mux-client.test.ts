/**
 * Issue 11's first check, at the client level, with the multiplexed watch: one client with
 * 64 config watches and 64 discovered services keeps its registration (heartbeat 1 s, TTL
 * 4 s) and its writes stay fast, because all its watches share one stream of their own.
 */
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { GovernanceClient } from '../../src/index.js'
import { runCli } from '../server/process-helpers.js'

describe('one client with 128 watches on the multiplexed watch', () => {
  it('stays registered in every one-second sample and every config.put takes under 1 s', async () => {
    const cli = runCli(['--port', '0'])
    const url = await cli.url
    const gov = new GovernanceClient({ server: url, service: { name: 'busy', port: 8080 }, heartbeatIntervalMs: 1_000, ttlMs: 4_000, logger: false })
    try {
      await gov.register()
      for (let i = 0; i < 64; i++) gov.config.watch(`key-${i}`, () => undefined)
      await Promise.all(Array.from({ length: 64 }, (_, i) => gov.discover(`svc-${i}`)))
      // The client coalesces watch-set changes before it (re)opens the stream: poll for it.
      const streams = async (): Promise<number> => ((await (await request(`${url}/v1/health`)).body.json()) as { watchStreams: number }).watchStreams
      await expect.poll(streams, { timeout: 5_000 }).toBe(1)
      const putMs: number[] = []
      for (let second = 0; second < 20; second++) {
        const listed = (await (await request(`${url}/v1/services/busy`)).body.json()) as { instances: unknown[] }
        expect(listed.instances, `sample ${second}`).toHaveLength(1)
        const t0 = performance.now()
        await gov.config.put(`key-${second}`, { second })
        putMs.push(performance.now() - t0)
        await new Promise((resolve) => setTimeout(resolve, 1_000))
      }
      expect(Math.max(...putMs)).toBeLessThan(1_000)
    } finally {
      await gov.close()
    }
  }, 40_000)
})
