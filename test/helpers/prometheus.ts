/**
 * A real Prometheus (Debian's `prometheus`) on loopback for a test: a config written to a
 * temporary directory, a TSDB there too, stopped and removed by stop(). And promtool's
 * `check metrics` lint. Nothing here leaves the machine.
 */
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, stop, waitReady } from './pushgateway.js'

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus'
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool'
export const PROMETHEUS_INSTALL_HINT = 'apt-get install prometheus'

export function prometheusInstalled(): boolean {
  return existsSync(PROMETHEUS_BIN) && existsSync(PROMTOOL_BIN)
}

/** `promtool check metrics` on a page: its exit code and what it printed. */
export function promtoolCheckMetrics(page: string): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: page, encoding: 'utf8', timeout: 20_000 })
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

export interface ScrapeTarget {
  readonly job: string
  /** `host:port` */
  readonly address: string
  readonly path?: string
  /** Keep the page's own `job`/`instance` labels (the monitor center's per-instance series). */
  readonly honorLabels?: boolean
}

export interface RunningPrometheus {
  readonly url: string
  /** An instant query at `time` (seconds since the epoch; default now): the result vector. */
  query(expr: string, time?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>
  stop(): Promise<void>
}

export async function startPrometheus(targets: readonly ScrapeTarget[], scrapeIntervalS = 1): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'gov-prometheus-'))
  const jobs = targets.map(
    (t) =>
      `  - job_name: ${JSON.stringify(t.job)}\n    honor_labels: ${t.honorLabels === true}\n    metrics_path: ${JSON.stringify(t.path ?? '/metrics')}\n    static_configs:\n      - targets: [${JSON.stringify(t.address)}]`,
  )
  const config = `global:\n  scrape_interval: ${scrapeIntervalS}s\n  scrape_timeout: ${scrapeIntervalS}s\n  evaluation_interval: ${scrapeIntervalS}s\nscrape_configs:\n${jobs.join('\n')}\n`
  await writeFile(join(dir, 'prometheus.yml'), config)
  // The port was free a moment ago; when another process took it since, Prometheus exits and another is tried.
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await startOnce(dir, await freePort())
      } catch (error) {
        if (!(error instanceof PortTakenError) || attempt === 3) throw error
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
}

class PortTakenError extends Error {}

async function startOnce(dir: string, port: number): Promise<RunningPrometheus> {
  const url = `http://127.0.0.1:${port}`
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  try {
    await waitReady(url, exited, 20_000)
  } catch (error) {
    await stop(child, exited)
    const message = `Prometheus did not start on port ${port}: ${(error as Error).message}\n${stderr}`
    throw /address already in use/i.test(stderr) ? new PortTakenError(message) : new Error(message)
  }
  return {
    url,
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr, ...(time !== undefined && { time: String(time) }) })
      const res = await fetch(`${url}/api/v1/query?${params}`, { signal: AbortSignal.timeout(10_000) })
      const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }
      if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`)
      return body.data.result
    },
    stop: async () => {
      await stop(child, exited)
      await rm(dir, { recursive: true, force: true })
    },
  }
}
