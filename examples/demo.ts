/**
 * `npm run demo`: the reference server in-process on a free port, and two services,
 * orders and payments, that register, discover each other, call each other through the
 * client, push metrics and share a config key. One line per step; exits 0.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { GovernanceClient } from '../src/index.js'
import { findConsoleAssets } from '../src/server/console-assets.js'
import { createGovernanceServer } from '../src/server/index.js'

const started = Date.now()
const step = (text: string): void => console.log(`[${String(Date.now() - started).padStart(5)} ms] ${text}`)

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>

/** A service's own HTTP server on 127.0.0.1 and a free port. */
async function listen(handler: Handler): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, port: (server.address() as AddressInfo).port }
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

async function main(): Promise<void> {
  const registry = await createGovernanceServer({ port: 0 })
  step(`reference server listening on ${registry.url}`)

  const common = { server: registry.url, heartbeatIntervalMs: 1_000, ttlMs: 5_000, metrics: { flushIntervalMs: 60_000 }, logger: false as const }

  // payments: charges an order and asks orders for its status, through the client.
  let paymentsGov: GovernanceClient | undefined
  const payments = await listen(async (req, res) => {
    const started = performance.now()
    const order = await (await paymentsGov!.fetch('http://orders/status')).json()
    paymentsGov!.metrics.counter('charges_total').inc(1, { currency: 'EUR' })
    paymentsGov!.metrics.histogram('charge_duration_seconds').observe((performance.now() - started) / 1000, { route: req.url ?? '/' })
    json(res, { charged: true, order })
  })
  paymentsGov = new GovernanceClient({ ...common, service: { name: 'payments', port: payments.port, address: '127.0.0.1' } })

  // orders: places an order by calling payments, through the client.
  const orders = await listen(async (_req, res) => json(res, { status: 'open' }))
  const ordersGov = new GovernanceClient({ ...common, service: { name: 'orders', port: orders.port, address: '127.0.0.1' } })

  await Promise.all([ordersGov.register(), paymentsGov.register()])
  step(`orders registered as ${ordersGov.instanceId} on port ${orders.port}`)
  step(`payments registered as ${paymentsGov.instanceId} on port ${payments.port}`)

  const seenByOrders = await ordersGov.discover('payments')
  const seenByPayments = await paymentsGov.discover('orders')
  step(`orders discovers payments: ${seenByOrders.map((i) => `${i.address}:${i.port}`).join(', ')} (source ${seenByOrders.source})`)
  step(`payments discovers orders: ${seenByPayments.map((i) => `${i.address}:${i.port}`).join(', ')}`)

  const reply = await (await ordersGov.fetch('http://payments/charge', { method: 'POST', body: '{"amount":42}' })).json()
  step(`orders -> payments /charge -> orders /status: ${JSON.stringify(reply)}`)

  // payments follows a config key that orders changes.
  const changed = new Promise<void>((resolve) => {
    paymentsGov!.config.watch('checkout', (value, change) => {
      if (value === undefined) step('payments watches config "checkout" (not set yet)')
      else step(`payments sees config "checkout" = ${JSON.stringify(value)} (version ${change.version})`)
      if (value !== undefined) resolve()
    })
  })
  const written = await ordersGov.config.put('checkout', { discountPercent: 10 })
  step(`orders writes config "checkout" (version ${written.version})`)
  await changed

  await Promise.all([ordersGov.metrics.flush(), paymentsGov.metrics.flush()])
  const totals = (await (await fetch(`${registry.url}/v1/metrics/payments`)).json()) as { totals: { name: string; kind: string; value?: number; count?: number }[] }
  // The service's own metrics and the per-upstream ones gov.fetch recorded (process metrics left out).
  const summary = totals.totals
    .filter((p) => !/^(nodejs|process)_/.test(p.name))
    .map((p) => `${p.name}=${p.kind === 'histogram' ? `${p.count} obs` : p.value}`)
    .join(', ')
  step(`server's latest metrics for payments: ${summary}`)

  if (process.argv.includes('--keep')) await keepRunning(registry.url, ordersGov, paymentsGov)
  else step(`console at ${registry.url}/ui/ (npm run demo -- --keep keeps it up)`)

  await Promise.all([ordersGov.close(), paymentsGov.close()])
  const left = (await (await fetch(`${registry.url}/v1/services/orders`)).json()) as { instances: unknown[] }
  step(`both services closed; orders has ${left.instances.length} instances at the server`)
  await new Promise((resolve) => orders.server.close(resolve))
  await new Promise((resolve) => payments.server.close(resolve))
  await registry.close()
  step('reference server stopped; demo done')
}

/**
 * --keep: the console's URL, then traffic (orders calls payments every second, metrics
 * pushed every 5 s) so that its charts move, until Ctrl-C or SIGTERM.
 */
async function keepRunning(url: string, ordersGov: GovernanceClient, paymentsGov: GovernanceClient): Promise<void> {
  if (findConsoleAssets() === undefined) await (await import('../ui/build.js')).buildConsole()
  step(`console at ${url}/ui/ (kept running; Ctrl-C to stop)`)
  let tick = 0
  const traffic = setInterval(() => {
    void ordersGov.fetch('http://payments/charge', { method: 'POST', body: '{}' }).then((r) => r.body?.cancel(), () => undefined)
    if (++tick % 5 === 0) void Promise.all([ordersGov.metrics.flush(), paymentsGov.metrics.flush()]).catch(() => undefined)
  }, 1_000)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  clearInterval(traffic)
  step('stopping')
}

main().catch((error: unknown) => {
  console.error('demo failed:', error)
  process.exit(1)
})
