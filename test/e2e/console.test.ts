/**
 * The console in a real browser (Debian's Chromium via playwright-core) against a real
 * reference server, with instances, config and metrics coming from the real client.
 * One server and one browser for the file; the steps build on each other in order.
 * Set CONSOLE_SCREENSHOTS=docs/images to refresh the screenshots of docs/console.md.
 */
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildConsole } from '../../ui/build.js'
import { GovernanceClient } from '../../src/index.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import { launchChromium, skipWithoutChromium } from '../helpers/chromium.js'

const WRITE = 'console-write-token'
const READ = 'console-read-token'
const shots = process.env.CONSOLE_SCREENSHOTS

let server: GovernanceServer
let browser: { context: BrowserContext; close(): Promise<void> }
let page: Page
const clients: GovernanceClient[] = []

function client(name: string, id: string, zone: string): GovernanceClient {
  const gov = new GovernanceClient({
    server: server.url,
    token: WRITE,
    service: { name, id, port: 8080, address: '127.0.0.1', zone, metadata: { version: '1.4.2' }, tags: ['http'] },
    heartbeatIntervalMs: 500,
    ttlMs: 5_000,
    metrics: { flushIntervalMs: 3_600_000 },
    logger: false,
  })
  clients.push(gov)
  return gov
}

async function shot(name: string): Promise<void> {
  if (shots) await page.screenshot({ path: join(shots, `console-${name}.png`), fullPage: true })
}

async function login(p: Page, token: string): Promise<void> {
  await p.goto(`${server.url}/ui/`)
  await p.fill('#token', token)
  await p.click('#login button[type=submit]')
  await p.waitForSelector('#services')
}

const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${WRITE}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, json: await res.json() }
}

describe.skipIf(skipWithoutChromium('the console browser tests (test/e2e/console.test.ts)'))('console in Chromium', () => {
  beforeAll(async () => {
    await buildConsole()
    server = await createGovernanceServer({ token: WRITE, readToken: READ, metricHistory: { resolutionMs: 1_000, durationMs: 600_000 } })
    await Promise.all([client('orders', 'orders-1', 'eu-1a').register(), client('orders', 'orders-2', 'eu-1b').register(), client('payments', 'payments-1', 'eu-1a').register()])
    browser = await launchChromium()
    page = await browser.context.newPage()
    await page.setViewportSize({ width: 1280, height: 720 })
  }, 60_000)

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)))
    await browser?.close()
    await server?.close()
  })

  it('asks for a token, then lists services with counts by status and zone', async () => {
    await page.goto(`${server.url}/ui/`)
    await page.waitForSelector('#login')
    await shot('login')
    await login(page, WRITE)
    const orders = page.locator('tr[data-service=orders]')
    await expect.poll(() => orders.locator('[data-count=total]').textContent()).toBe('2')
    expect(await orders.locator('[data-count=UP]').textContent()).toBe('2')
    expect(await orders.locator('.zones').textContent()).toBe('eu-1a: 1, eu-1b: 1')
    expect(await page.locator('tr[data-service=payments] [data-count=total]').textContent()).toBe('1')
  })

  it('shows a new instance without a reload within 2 s', async () => {
    const registered = client('orders', 'orders-3', 'eu-1b').register()
    await registered
    const started = performance.now()
    await page.waitForSelector('tr[data-service=orders] [data-count=total]:text-is("3")', { timeout: 2_000 })
    expect(performance.now() - started).toBeLessThan(2_000)
    await shot('services')
  })

  it('marks an instance DOWN with a confirmation, and a watching client sees it; heartbeats do not undo it', async () => {
    const watcher = client('watcher', 'watcher-1', 'eu-1a')
    await watcher.discover('orders')
    const statuses: string[] = []
    watcher.on('discovery:changed', (e) => {
      if (e.service === 'orders') statuses.push(e.instances.find((i) => i.id === 'orders-1')?.status ?? 'absent')
    })
    const told: unknown[] = []
    clients[0]!.on('registry:overridden', (e) => told.push(e.override))
    await page.click('tr[data-service=orders] a')
    await page.waitForSelector('tr[data-instance=orders-1]')
    await page.click('tr[data-instance=orders-1] [data-action=down]')
    await shot('confirm')
    await page.click('dialog [data-confirm=yes]')
    await page.waitForSelector('tr[data-instance=orders-1][data-status=DOWN]')
    await expect.poll(() => statuses.at(-1)).toMatch(/^(DOWN|absent)$/)
    // The instance's own client is told at its next heartbeat, so it does not fight the operator.
    await expect.poll(() => told).toEqual([{ status: 'DOWN' }])
    // orders-1 keeps heartbeating every 500 ms and re-registers: the override holds.
    const hb = await api('PUT', '/v1/services/orders/instances/orders-1/heartbeat', {})
    expect(hb.json.override.status).toBe('DOWN')
    await api('PUT', '/v1/services/orders/instances/orders-1', { address: '127.0.0.1', port: 8080, ttlMs: 5_000, status: 'UP' })
    expect((await api('GET', '/v1/services/orders')).json.instances.find((i: { id: string }) => i.id === 'orders-1').status).toBe('DOWN')
    await page.fill('tr[data-instance=orders-2] input.weight', '7')
    await page.click('tr[data-instance=orders-2] [data-action=weight]')
    await page.click('dialog [data-confirm=yes]')
    await expect.poll(async () => (await api('GET', '/v1/services/orders')).json.instances.find((i: { id: string }) => i.id === 'orders-2').weight).toBe(7)
    await shot('service')
  })

  it('edits a config value with compare-and-set, shows a conflict without overwriting, rolls back', async () => {
    const gov = clients[0]!
    const written: { version: string; value: unknown; deleted: boolean; time: number; writer: string }[] = []
    const remember = async (writer: string): Promise<void> => {
      const { json } = await api('GET', '/v1/config/checkout')
      written.push({ version: json.version, value: json.value, deleted: false, time: Date.now(), writer })
    }
    await gov.config.put('checkout', { discountPercent: 10 })
    await remember('orders-1')
    await page.goto(`${server.url}/ui/#/config/checkout`)
    await expect.poll(() => page.inputValue('#config-editor')).toContain('"discountPercent": 10')
    await page.fill('#config-editor', '{ "discountPercent": 15 }')
    await page.click('#config-save')
    await expect.poll(async () => (await gov.config.get('checkout'))?.value).toEqual({ discountPercent: 15 })
    await remember('console')

    // A draft, then someone else writes: saving must show their value and write nothing.
    await page.fill('#config-editor', '{ "discountPercent": 20 }')
    await gov.config.put('checkout', { discountPercent: 99 })
    await remember('orders-1')
    await page.click('#config-save')
    await page.waitForSelector('#conflict-theirs')
    expect(JSON.parse((await page.textContent('#conflict-theirs'))!)).toEqual({ discountPercent: 99 })
    expect((await api('GET', '/v1/config/checkout')).json.value).toEqual({ discountPercent: 99 })
    await shot('config-conflict')

    const history = await api('GET', '/v1/config/checkout/history?limit=50')
    // The server's history is the versions written above, newest first.
    expect(history.json.versions.map((v: { version: string }) => v.version)).toEqual([...written].reverse().map((v) => v.version))
    expect(history.status).toBe(200)
    await page.goto(`${server.url}/ui/#/config`)
    await page.goto(`${server.url}/ui/#/config/checkout`)
    const first = history.json.versions.at(-1).version as string
    await page.waitForSelector(`[data-rollback="${first}"]`)
    // The diff of the two newest versions (the default pair) shows the change 15 -> 99.
    await expect.poll(() => page.textContent('#history-diff')).toContain('"discountPercent": 99')
    expect(await page.textContent('#history-diff .del')).toContain('15')
    await page.click(`[data-rollback="${first}"]`)
    await page.click('dialog [data-confirm=yes]')
    await expect.poll(async () => (await api('GET', '/v1/config/checkout')).json.value).toEqual({ discountPercent: 10 })
    await shot('config')
  })

  it('draws charts from pushed metrics', async () => {
    const gov = clients[1]!
    for (let i = 0; i < 3; i++) {
      gov.metrics.counter('http_requests_total').inc(10, { route: '/a' })
      gov.metrics.gauge('queue_depth').set(3 + i)
      for (let j = 0; j < 20; j++) gov.metrics.histogram('http_request_duration_ms').observe(5 + j, { route: '/a' })
      await gov.metrics.flush()
      await new Promise((r) => setTimeout(r, 1_100)) // one history slot apart
    }
    await page.goto(`${server.url}/ui/#/metrics/orders`)
    const chart = page.locator('[data-chart=http_requests_total]')
    await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 15_000 }).toBeGreaterThanOrEqual(3)
    expect(await chart.locator('canvas').count()).toBe(1)
    expect(Number(await page.locator('[data-chart="http_request_duration_ms:q"]').getAttribute('data-points'))).toBeGreaterThan(0)
    const rates = (await api('GET', '/v1/metrics/orders/history?from=-60000')).json.series.find((s: { name: string }) => s.name === 'http_requests_total').rate
    expect(rates.filter((r: number | null) => r !== null && r > 0).reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(30, 5) // 3 x 10 per 1 s slot
    await page.selectOption('#range', '60000')
    await page.waitForTimeout(500)
    await shot('metrics')
  })

  it('gives a read token a read-only console, and the server refuses its writes', async () => {
    const reader = await browser.context.newPage()
    await login(reader, READ)
    await reader.waitForSelector('#mode:text-is("read-only")')
    await reader.goto(`${server.url}/ui/#/service/orders`)
    await reader.waitForSelector('tr[data-instance=orders-2]')
    expect(await reader.isDisabled('tr[data-instance=orders-2] [data-action=down]')).toBe(true)
    await reader.goto(`${server.url}/ui/#/config/checkout`)
    await reader.waitForSelector('#config-editor')
    expect(await reader.isDisabled('#config-editor')).toBe(true)
    const status = await reader.evaluate(async (token) => (await fetch('/v1/config/checkout', { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"value":1}' })).status, READ)
    expect(status).toBe(403)
    if (shots) await reader.screenshot({ path: join(shots, 'console-read-only.png'), fullPage: true })
    await reader.close()
  })
})
