/**
 * Hung servers and failover (issue 11, item 3): `server: [A, B]`, two reference servers in
 * child processes, A frozen with SIGSTOP (its sockets stay open, nothing answers). The
 * per-attempt timeout leaves the call time for B, A is marked failed, and the instance
 * moves to B.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { httpBackend } from '../../src/backends/http/index.js'
import { GovernanceClient } from '../../src/index.js'
import { runCli, type CliProcess } from '../server/process-helpers.js'
import { frozenCheckService } from '../fixtures/frozen-client.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** A reference server in a child process; resumed (SIGCONT) before it is killed. */
async function childServer(): Promise<{ url: string; cli: CliProcess }> {
  const cli = runCli(['--port', '0', '--host', '127.0.0.1'])
  cleanups.push(async () => {
    cli.child.kill('SIGCONT')
  })
  return { url: await cli.url, cli }
}

async function instancesOn(url: string, service: string): Promise<number> {
  const observer = httpBackend({ server: url, requestTimeoutMs: 1_000 })
  try {
    return (await observer.resolve(service, {})).instances.length
  } finally {
    await observer.close()
  }
}

async function waitFor(check: () => Promise<boolean>, withinMs: number): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < withinMs) {
    if (await check().catch(() => false)) return Date.now() - started
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`not within ${withinMs} ms`)
}

describe('server: [A, B] with A frozen (SIGSTOP)', () => {
  it('registers on B within 8 s and a config.put succeeds within 3 s', async () => {
    const a = await childServer()
    const b = await childServer()
    const gov = new GovernanceClient({
      server: [a.url, b.url],
      ...frozenCheckService('frozen-a'),
    })
    cleanups.push(() => gov.close())
    await gov.register()
    gov.config.watch('frozen.key', () => undefined)
    await gov.discover('frozen-a')
    expect(await instancesOn(a.url, 'frozen-a')).toBe(1)
    expect(await instancesOn(b.url, 'frozen-a')).toBe(0)

    a.cli.child.kill('SIGSTOP')
    try {
      const putStarted = Date.now()
      await gov.config.put('frozen.key', { after: 'freeze' })
      const putMs = Date.now() - putStarted
      const movedMs = await waitFor(async () => (await instancesOn(b.url, 'frozen-a')) === 1, 8_000 - putMs)
      if (process.env.SHOW_TIMINGS) console.info({ putMs, movedMs })
      expect(putMs).toBeLessThan(3_000)
      expect(putMs + movedMs).toBeLessThan(8_000)
      // Later calls go to B first: no attempt share is spent on A while its breaker is open.
      const again = Date.now()
      await gov.config.put('frozen.key', { after: 'moved' })
      expect(Date.now() - again).toBeLessThan(900)
    } finally {
      a.cli.child.kill('SIGCONT')
    }
  }, 30_000)
})
