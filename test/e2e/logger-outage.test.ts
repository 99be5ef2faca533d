/**
 * `logger: console` through an outage of the reference server: registration, discovery, a
 * config watch and metrics all fail for a few seconds. Repeated warnings are rate-limited
 * and no line carries a stack trace (those go to debug, off for console by default).
 */
import { format } from 'node:util'
import { afterEach, expect, it, vi } from 'vitest'
import { GovernanceClient } from '../../src/index.js'
import { createGovernanceServer } from '../../src/server/index.js'

const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {})
  vi.restoreAllMocks()
})

it('logs a few lines, without stacks, through a 4 s outage', async () => {
  const lines: string[] = []
  for (const level of ['debug', 'info', 'warn', 'error', 'log'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(`${level} ${format(...args)}`))
  }
  vi.stubEnv('NODE_DEBUG', '')
  const server = await createGovernanceServer({ port: 0 })
  cleanup.push(() => server.close())
  const gov = new GovernanceClient({
    server: server.url,
    service: { name: 'orders', port: 8080, address: '127.0.0.1' },
    heartbeatIntervalMs: 200,
    ttlMs: 1_000,
    requestTimeoutMs: 300,
    logger: console,
    handleSignals: false,
    discovery: { recoveryBackoff: { minDelayMs: 20, maxDelayMs: 100 } },
    metrics: { flushIntervalMs: 200, processMetrics: false },
  })
  cleanup.push(() => gov.close())
  await gov.register()
  await gov.discover('payments')
  gov.config.watch('orders', () => {})
  gov.metrics.counter('orders_total').inc()

  const before = lines.length
  await server.close()
  const outageStart = Date.now()
  while (Date.now() - outageStart < 4_000) {
    gov.metrics.counter('orders_total').inc()
    await gov.discover('payments').catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const during = lines.slice(before)
  process.stdout.write(`logger-outage: ${during.length} lines in a 4 s outage\n`)
  expect(during.some((line) => /\n\s+at /.test(line))).toBe(false)
  // Each kind of failure a few times (burst 3 per 30 s), not once per retry.
  const kinds = new Map<string, number>()
  for (const line of during) {
    const key = line.replace(/\d+/g, '#')
    kinds.set(key, (kinds.get(key) ?? 0) + 1)
  }
  expect([...kinds.values()].every((n) => n <= 3)).toBe(true)
  expect(during.length).toBeLessThan(60)
})
