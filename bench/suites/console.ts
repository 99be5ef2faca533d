/**
 * The console and metric history (issue 15). Goals: history of 10,000 series over 1 h at
 * the default 10 s resolution under 64 MiB; a history query for one service with 1,000
 * series over 1 h under 50 ms; the console's first load under 200 KB compressed; time to
 * the first chart on loopback (Chromium; skipped with a line when it is missing).
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { silentLogger } from '../../src/internal/logger.js'
import { MetricHistory } from '../../src/server/metric-history.js'
import { createGovernanceServer } from '../../src/server/index.js'
import type { MetricPoint } from '../../src/types.js'
import { chromiumInstalled, launchChromium } from '../../test/helpers/chromium.js'
import { buildConsole } from '../../ui/build.js'
import { compare, median, printComparison, type BenchSuite, type ComparisonResult } from '../lib.js'

const HOUR = 3_600_000
const RES = 10_000
const SLOTS = HOUR / RES

function gc(): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

const counter = (i: number): MetricPoint => ({ name: 'requests_total', kind: 'counter', labels: { route: `/r${i}` }, value: 1 })

/** A full hour of history: `instances` x `perInstance` counter series, one push per slot. */
function filled(instances: number, perInstance: number, service = 'orders'): { history: MetricHistory; clock: { now: number } } {
  const clock = { now: 1_800_000_000_000 }
  const history = new MetricHistory({ resolutionMs: RES, durationMs: HOUR, maxSeries: 1_000_000, maxBytes: 2 ** 40, logger: silentLogger, now: () => clock.now })
  const points = Array.from({ length: perInstance }, (_, i) => counter(i))
  for (let slot = 0; slot < SLOTS; slot++) {
    for (let i = 0; i < instances; i++) history.record({ batchId: `${slot}-${i}`, service, instance: `i-${i}`, timestamp: clock.now, points })
    clock.now += RES
  }
  return { history, clock }
}

function memory(): string[] {
  const collect = gc()
  collect()
  const before = process.memoryUsage()
  const { history } = filled(100, 100) // 10,000 series
  collect()
  const after = process.memoryUsage()
  const heap = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1)
  return [
    `history of ${history.stats.series.toLocaleString('en-US')} counter series x ${SLOTS} slots (10 s for 1 h): ${mib(heap)} MiB measured (heap + array buffers after gc), ${mib(history.stats.bytes)} MiB by the store's own count; goal < 64 MiB`,
  ]
}

async function query(): Promise<ComparisonResult> {
  const { history, clock } = filled(100, 10) // one service, 1,000 series summed into 10 label sets
  const distinct = filled(1, 1_000).history // one service, 1,000 distinct series: 1,000 charted lines
  const from = clock.now - HOUR
  const result = await compare(
    'history query, one service with 1,000 series over 1 h (360 slots)',
    [
      { name: 'query', run: (n) => { for (let i = 0; i < n; i++) history.query('orders', from, clock.now) } },
      { name: 'query + JSON.stringify (the endpoint)', run: (n) => { for (let i = 0; i < n; i++) JSON.stringify(history.query('orders', from, clock.now)) } },
      { name: '1,000 distinct series: query + JSON.stringify', run: (n) => { for (let i = 0; i < n; i++) JSON.stringify(distinct.query('orders', from, clock.now)) } },
    ],
    { iterations: 5, rounds: 7 },
  )
  return { ...result, notes: ['goal < 50 ms per query; first two cases: 100 instances x 10 label sets (summed per label set); third: 1 instance x 1,000 label sets'] }
}

async function consoleLoad(): Promise<string[]> {
  await buildConsole()
  const server = await createGovernanceServer({ metricHistory: { resolutionMs: 1_000 } })
  try {
    let compressed = 0
    let raw = 0
    for (const file of ['', 'app.js', 'app.css']) {
      const gz = await fetch(`${server.url}/ui/${file}`, { headers: { 'accept-encoding': 'gzip' } })
      compressed += Number(gz.headers.get('content-length'))
      await gz.arrayBuffer()
      raw += (await (await fetch(`${server.url}/ui/${file}`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer()).byteLength
    }
    const notes = [`console first load (index.html + app.js + app.css, uPlot included): ${(compressed / 1024).toFixed(1)} KiB gzip, ${(raw / 1024).toFixed(1)} KiB raw; goal < 200 KB compressed`]
    if (!chromiumInstalled()) return [...notes, 'time to first chart: SKIPPED, /usr/bin/chromium is missing (apt-get install chromium)']
    for (let s = 0; s < 3; s++) {
      const points: MetricPoint[] = [counter(0), { name: 'queue_depth', kind: 'gauge', labels: {}, value: s }]
      await fetch(`${server.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ batchId: `b${s}`, service: 'orders', instance: 'i-1', timestamp: Date.now(), points }) })
    }
    const browser = await launchChromium()
    try {
      const times: number[] = []
      for (let run = 0; run < 5; run++) {
        const page = await browser.context.newPage()
        const t0 = performance.now()
        await page.goto(`${server.url}/ui/#/metrics/orders`)
        await page.waitForSelector('figure[data-chart] canvas')
        times.push(performance.now() - t0)
        await page.close()
      }
      return [...notes, `time to first chart on loopback (navigation to a drawn uPlot canvas, Chromium headless, fresh page each): median ${median(times).toFixed(0)} ms of 5 (${times.map((t) => t.toFixed(0)).join(', ')})`]
    } finally {
      await browser.close()
    }
  } finally {
    await server.close()
  }
}

const suite: BenchSuite = async () => {
  const queried = await query()
  const figures: ComparisonResult = { ...queried, notes: [...(queried.notes ?? []), ...memory(), ...(await consoleLoad())] }
  printComparison(figures)
  return [figures]
}

export default suite
