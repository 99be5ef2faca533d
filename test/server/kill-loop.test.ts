/**
 * SIGKILL while config writes are in flight, five times over: every answered write is
 * there after the next start, and no temp file survives a start.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { call, tempDir } from './helpers.js'
import { runCli } from './process-helpers.js'

const ROUNDS = 5

async function writeUntilKilled(url: string, round: number, kill: () => void): Promise<Map<string, unknown>> {
  const acked = new Map<string, unknown>()
  let n = 0
  const writer = async (): Promise<void> => {
    for (;;) {
      const key = `r${round}-${n++}`
      const value = { round, key, pad: 'x'.repeat(2_000) }
      try {
        const r = await call(url, 'PUT', `/v1/config/${key}`, { body: { value } })
        if (r.status === 200) acked.set(key, value)
      } catch {
        return // the server is gone
      }
    }
  }
  const writers = Array.from({ length: 8 }, writer)
  await new Promise((resolve) => setTimeout(resolve, 150))
  kill()
  await Promise.all(writers)
  return acked
}

describe('config under a SIGKILL loop', () => {
  it('keeps every answered write and leaves no temp files after the next start', async () => {
    const dataDir = await tempDir()
    const acked = new Map<string, unknown>()
    for (let round = 0; round < ROUNDS; round++) {
      const cli = runCli(['--port', '0', '--data-dir', dataDir])
      const url = await cli.url
      for (const [key, value] of await writeUntilKilled(url, round, () => cli.child.kill('SIGKILL'))) acked.set(key, value)
      expect(await cli.exited).toBe('SIGKILL')
    }
    const last = runCli(['--port', '0', '--data-dir', dataDir])
    const url = await last.url
    const names = [...(await readdir(dataDir)), ...(await readdir(join(dataDir, 'config')))]
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([])
    expect(acked.size).toBeGreaterThan(ROUNDS)
    const keys = new Set(((await call(url, 'GET', '/v1/config')).json.keys as { key: string }[]).map((k) => k.key))
    for (const [key, value] of acked) {
      expect(keys.has(key)).toBe(true)
      expect((await call(url, 'GET', `/v1/config/${key}`)).json.value).toEqual(value)
    }
  }, 60_000)
})
