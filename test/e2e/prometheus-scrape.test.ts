/**
 * A real Prometheus (Debian's `prometheus`, started here on loopback, scraping every 1 s)
 * scrapes a service's render() and the reference server's GET /metrics: both targets up,
 * rate() of a counter and histogram_quantile() of a histogram within 5% of what was
 * recorded. promtool's lint passes on both pages and on a page that also holds
 * prom-client's default metrics. Skipped with a notice without Prometheus, except in CI.
 */
import { createServer, type Server } from 'node:http'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EXPOSITION_CONTENT_TYPE, GovernanceClient } from '../../src/index.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import {
  PROMETHEUS_BIN,
  PROMETHEUS_INSTALL_HINT,
  prometheusInstalled,
  promtoolCheckMetrics,
  startPrometheus,
  type RunningPrometheus,
} from '../helpers/prometheus.js'

const installed = prometheusInstalled()
if (!installed && process.env.CI !== 'true') console.warn(`skipping the Prometheus e2e test: ${PROMETHEUS_BIN} is missing (${PROMETHEUS_INSTALL_HINT})`)

const WINDOW_S = 6
const BUCKETS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]

describe.skipIf(!installed && process.env.CI !== 'true')('Prometheus scrapes render() and the server /metrics', () => {
  let server: GovernanceServer | undefined
  let gov: GovernanceClient | undefined
  let service: Server | undefined
  let prometheus: RunningPrometheus | undefined
  let ticker: NodeJS.Timeout | undefined
  /** [ms since the epoch, counter total] after every increment. */
  const recorded: [number, number][] = []

  beforeAll(async () => {
    if (!installed) throw new Error(`${PROMETHEUS_BIN} is missing in CI: ${PROMETHEUS_INSTALL_HINT} (in .ci/run)`)
    server = await createGovernanceServer({ port: 0, host: '127.0.0.1' })
    gov = new GovernanceClient({ server: server.url, service: { name: 'scraped', port: 8080, id: 'scraped-1' }, logger: false, metrics: { flushIntervalMs: 100 } })
    const metrics = gov.metrics
    service = createServer((_req, res) => void res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE }).end(metrics.render()))
    await new Promise<void>((resolve) => service!.listen(0, '127.0.0.1', resolve))
    const servicePort = (service.address() as { port: number }).port
    prometheus = await startPrometheus([
      { job: 'service', address: `127.0.0.1:${servicePort}` },
      // honor_labels: the page's own `instance` label (the pushing instance) wins over the target's.
      { job: 'monitor', address: `127.0.0.1:${server.port}`, honorLabels: true },
    ])
    // A known distribution: 1,000 observations spread evenly over [0, 1): median 0.5, p90 0.9.
    const duration = metrics.histogram('job_duration_seconds', { help: 'Time per job.', buckets: BUCKETS })
    for (let i = 0; i < 1_000; i++) duration.observe((i + 0.5) / 1_000)
    const jobs = metrics.counter('jobs_processed_total', { help: 'Jobs processed.' })
    let total = 0
    ticker = setInterval(() => {
      jobs.inc(20)
      total += 20
      recorded.push([Date.now(), total])
    }, 50)
  }, 60_000)

  afterAll(async () => {
    clearInterval(ticker)
    await prometheus?.stop()
    await new Promise((resolve) => (service ? service.close(resolve) : resolve(undefined)))
    await gov?.close()
    await server?.close()
  })

  /** The recorded total at `ms` (the last increment at or before it). */
  function totalAt(ms: number): number {
    let value = 0
    for (const [at, total] of recorded) if (at <= ms) value = total
    return value
  }

  it('has both targets up, and rate() and histogram_quantile() within 5% of what was recorded', async () => {
    const p = prometheus as RunningPrometheus
    await expect.poll(async () => (await p.query('up == 1')).length, { timeout: 15_000, interval: 500 }).toBe(2)
    // Enough samples for the window, plus a margin for the last scrape to be stored.
    await new Promise((r) => setTimeout(r, (WINDOW_S + 3) * 1_000))
    const at = Date.now() / 1_000 - 1.5
    const expected = (totalAt(at * 1_000) - totalAt((at - WINDOW_S) * 1_000)) / WINDOW_S
    expect(expected).toBeGreaterThan(100)
    for (const selector of ['{job="service"}', '{job="monitor", service="scraped", instance="scraped-1"}']) {
      const [rate] = await p.query(`rate(jobs_processed_total${selector}[${WINDOW_S}s])`, at)
      expect(rate, selector).toBeDefined()
      expect(Math.abs(Number(rate!.value[1]) / expected - 1), `${selector}: ${rate!.value[1]} vs ${expected}`).toBeLessThan(0.05)
      for (const q of [0.5, 0.9]) {
        const [quantile] = await p.query(`histogram_quantile(${q}, sum by (le) (job_duration_seconds_bucket${selector}))`, at)
        expect(Math.abs(Number(quantile!.value[1]) / q - 1), `${selector} p${q * 100}: ${quantile!.value[1]}`).toBeLessThan(0.05)
      }
    }
  }, 60_000)

  it('passes promtool check metrics: render(), the server page, and a page shared with prom-client', async () => {
    const page = (gov as GovernanceClient).metrics.render()
    expect(page).toContain('governance_process_cpu_user_seconds_total')
    const served = await (await fetch(`${(server as GovernanceServer).url}/metrics`)).text()
    expect(served).toContain('jobs_processed_total{service="scraped",instance="scraped-1"}')
    const registry = new Registry()
    collectDefaultMetrics({ register: registry })
    const promClient = await registry.metrics()
    const shared = `${promClient}${page}`
    expect(shared).toContain('process_cpu_user_seconds_total')
    for (const [name, text] of [
      ['render()', page],
      ['server /metrics', served],
    ] as const) {
      const lint = promtoolCheckMetrics(text)
      expect(lint, `${name}: ${lint.output}`).toMatchObject({ status: 0 })
    }
    // prom-client's own page does not pass the lint (its gauges nodejs_active_*_total):
    // the shared page must parse and add no finding of its own to prom-client's.
    const alone = promtoolCheckMetrics(promClient)
    const together = promtoolCheckMetrics(shared)
    expect(together.status, together.output).not.toBe(1)
    expect(together).toEqual(alone)
    const clash = promtoolCheckMetrics(`${promClient}# HELP process_cpu_user_seconds_total x\n# TYPE process_cpu_user_seconds_total counter\nprocess_cpu_user_seconds_total 1\n`)
    expect(clash.output).toMatch(/second HELP line/)
    // The lint can fail: a millisecond name is what the issue found.
    expect(promtoolCheckMetrics('# HELP x_ms t\n# TYPE x_ms gauge\nx_ms 1\n').status).not.toBe(0)
  })
})
