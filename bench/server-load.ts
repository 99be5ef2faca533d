/**
 * Load cases of the reference server (issue 13), each against the CLI in a child process
 * with the limits it needs raised, so the server has a thread of its own:
 * - change -> watcher latency for 1,000 watchers of one 1,000-instance service and of one key,
 *   over blocking queries and over the multiplexed watch (bench/server-watchers.ts);
 * - an expiry of 10,000 instances (100 services x 100) under 1,000 re-watching watchers, with
 *   a probe (GET /v1/health every 5 ms) whose latency shows how long the loop was blocked;
 * - config PUT latency with 10 and with 50,000 keys, on disk and in memory;
 * - heartbeat latency while 20 clients read a 50,000-instance service, and RSS per 10,000 instances;
 * - time and RSS to hold 18,000 blocking queries.
 * BENCH_SERVER_LOAD_CASES=<names, comma-separated> runs only those: `watchers` (all four of
 * WATCHER_CASES, or any of them by name), `expiry`, `config size`, `big list`, `held queries`.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { encodeKeyFile, keyFileName } from '../src/server/config-disk.js'
import { percentile, type ComparisonResult } from './lib.js'
import { rssBytes } from './server-child.js'
import { held, instance, MiB, ms, mustPut, parallel, request, sleep, withServer } from './server-load-kit.js'
import { WATCHER_CASES, watcherCases } from './server-watchers.js'

const root = fileURLToPath(new URL('..', import.meta.url))

/** 10,000 instances (100 services x 100) expire while 10 watchers per service keep re-watching. */
async function expiry(): Promise<string[]> {
  return withServer(['--max-connections-per-client', '4000', '--max-connections', '4000'], async (server, control) => {
    const pool = new Pool(server.url, { connections: 1_100, headersTimeout: 120_000, bodyTimeout: 120_000 })
    const probe = new Pool(server.url, { connections: 1 })
    try {
      await parallel(10_000, 64, (i) => mustPut(control, `/v1/services/s${Math.floor(i / 100)}/instances/i${i}`, instance(3_000)))
      let stop = false
      let wakes = 0
      const watch = async (service: string): Promise<void> => {
        let index = '1'
        while (!stop) {
          const res = await pool.request({ method: 'GET', path: `/v1/services/${service}?index=${index}&wait=10s` })
          const body = JSON.parse(await res.body.text()) as { index: string; instances: unknown[] }
          if (body.index !== index) wakes += 1
          index = body.index
          if (body.instances.length === 0) return
        }
      }
      const loops = Array.from({ length: 1_000 }, (_, i) => watch(`s${i % 100}`))
      await held(control, 1_000)
      const latencies: number[] = []
      const started = performance.now()
      while (performance.now() - started < 4_000) {
        const t = performance.now()
        await request(probe, 'GET', '/v1/health')
        latencies.push(performance.now() - t)
        await sleep(5)
      }
      stop = true
      await Promise.all(loops)
      const initialAnswers = 1_000
      return [
        `expiry of 10,000 instances (100 services x 100, ttl 3 s) with 1,000 re-watching watchers (10 per service), from all held to 4 s later: probe p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(Math.max(...latencies))} over ${latencies.length} probes; ${wakes - initialAnswers} wake-ups after the first answers (${((wakes - initialAnswers) / 1_000).toFixed(1)} per watcher)`,
      ]
    } finally {
      await probe.destroy()
      await pool.destroy()
    }
  })
}

/** Writes 50,000 key files directly (no fsync: a preload, not the thing measured). */
async function preloadKeys(dataDir: string, count: number): Promise<void> {
  const dir = join(dataDir, 'config')
  await mkdir(dir, { recursive: true })
  const base = BigInt(Date.now()) * 1000n
  await parallel(count, 64, (i) =>
    writeFile(join(dir, keyFileName(`k${i}`)), encodeKeyFile({ key: `k${i}`, versions: [{ version: base + BigInt(i), json: JSON.stringify({ i, pad: 'x'.repeat(200) }), time: Date.now(), writer: 'bench' }] })),
  )
}

async function putLatency(keys: number, onDisk: boolean): Promise<number[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gov-bench-config-'))
  try {
    if (onDisk) await preloadKeys(dataDir, keys)
    return await withServer([...(onDisk ? ['--data-dir', dataDir] : []), '--max-config-keys', '60000'], async (_server, pool) => {
      if (!onDisk) await parallel(keys, 64, (i) => mustPut(pool, `/v1/config/k${i}`, JSON.stringify({ value: { i, pad: 'x'.repeat(200) } })))
      const latencies: number[] = []
      for (let i = 0; i < 300; i++) {
        const t = performance.now()
        const r = await request(pool, 'PUT', `/v1/config/k${(i * 7919) % keys}`, JSON.stringify({ value: i }))
        if (r.status !== 200) throw new Error(`PUT answered ${r.status}: ${r.text}`)
        if (i >= 50) latencies.push(performance.now() - t)
      }
      return latencies
    })
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

async function configSize(): Promise<string[]> {
  const lines: string[] = []
  for (const onDisk of [false, true]) {
    const small = await putLatency(10, onDisk)
    const large = await putLatency(50_000, onDisk)
    const where = onDisk ? 'on disk (ext4, fsync)' : 'in memory'
    lines.push(
      `config PUT ${where}: 10 keys p50 ${ms(percentile(small, 50))} p99 ${ms(percentile(small, 99))}; 50,000 keys p50 ${ms(percentile(large, 50))} p99 ${ms(percentile(large, 99))}; ratio of p50s ${(percentile(large, 50) / percentile(small, 50)).toFixed(2)}x`,
    )
  }
  return lines
}

/** argv: url, clients, duration ms; prints {"reads","bytes"}. */
const READERS_SCRIPT = `
import { Pool } from 'undici'
const [url, clients, duration] = process.argv.slice(1)
const pool = new Pool(url, { connections: Number(clients), bodyTimeout: 120000 })
const end = Date.now() + Number(duration)
let reads = 0, bytes = 0
await Promise.all(Array.from({ length: Number(clients) }, async () => {
  while (Date.now() < end) {
    const res = await pool.request({ method: 'GET', path: '/v1/services/huge' })
    for await (const chunk of res.body) bytes += chunk.length
    reads += 1
  }
}))
console.log(JSON.stringify({ reads, bytes }))
await pool.close()
`

/** 50,000 instances in one service, 20 clients reading it in loops, one heartbeat loop measured. */
async function bigList(): Promise<string[]> {
  return withServer(['--max-instances-per-service', '60000'], async (server, pool) => {
    const before = rssBytes(server.pid)
    await parallel(50_000, 64, (i) => mustPut(pool, `/v1/services/huge/instances/i${i}`, instance(600_000)))
    await sleep(500)
    const after = rssBytes(server.pid)
    // The readers run in a process of their own, so that receiving their answers does not
    // delay this process's heartbeat loop and count as server latency.
    const readers = spawn(process.execPath, ['--input-type=module', '-e', READERS_SCRIPT, server.url, '20', '5000'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    const beat = new Pool(server.url, { connections: 1 })
    try {
      let out = ''
      readers.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
      const finished = once(readers, 'exit')
      await sleep(300)
      const latencies: number[] = []
      const started = performance.now()
      while (performance.now() - started < 4_500) {
        const t = performance.now()
        await request(beat, 'PUT', '/v1/services/huge/instances/i1/heartbeat', '{}')
        latencies.push(performance.now() - t)
        await sleep(10)
      }
      await finished
      const { reads, bytes } = JSON.parse(out) as { reads: number; bytes: number }
      const peak = rssBytes(server.pid)
      return [
        `heartbeat while 20 clients read a 50,000-instance service (${MiB(bytes / Math.max(1, reads))} per answer, ${reads} reads in 5 s, readers in another process): p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(Math.max(...latencies))}`,
        `server RSS: ${MiB(before)} empty, ${MiB(after)} with 50,000 instances (${MiB((after - before) / 5)} per 10,000 instances), ${MiB(peak)} after the reads`,
      ]
    } finally {
      readers.kill()
      await beat.destroy()
    }
  })
}

/** 18,000 blocking queries on raw sockets (one each), counted by GET /v1/health. */
async function heldQueries(): Promise<string[]> {
  const n = 18_000
  const limits = ['--max-connections', '19000', '--max-connections-per-client', '19000', '--max-held-queries', '19000', '--max-held-queries-per-client', '19000']
  return withServer(limits, async (server, pool) => {
    const before = rssBytes(server.pid)
    const port = Number(new URL(server.url).port)
    const sockets: Socket[] = []
    const started = performance.now()
    try {
      for (let i = 0; i < n; i++) {
        const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(`GET /v1/config/held-${i % 100}?index=1&wait=5m HTTP/1.1\r\nHost: x\r\n\r\n`))
        socket.on('error', () => {})
        sockets.push(socket)
        if (i % 500 === 499) await sleep(5)
      }
      await held(pool, n)
      const took = performance.now() - started
      const rss = rssBytes(server.pid)
      return [`${n.toLocaleString('en-US')} held queries: all held after ${(took / 1000).toFixed(1)} s; server RSS ${MiB(before)} -> ${MiB(rss)} (${((rss - before) / n / 1024).toFixed(1)} KiB per held query)`]
    } finally {
      sockets.forEach((s) => s.destroy())
    }
  })
}

/** BENCH_SERVER_LOAD_CASES (comma-separated names) picks cases; `watchers` picks all four watcher cases. */
function chosen(name: string): boolean {
  const only = process.env['BENCH_SERVER_LOAD_CASES']
  return only === undefined || only === '' || only.split(',').map((n) => n.trim()).includes(name)
}

export async function runLoadCases(): Promise<ComparisonResult[]> {
  const out: ComparisonResult[] = []
  const watchers = WATCHER_CASES.filter((name) => chosen('watchers') || chosen(name))
  for (const [title, run] of [
    ['watchers', watchers.length > 0 ? () => watcherCases(watchers) : undefined],
    ['expiry', chosen('expiry') ? expiry : undefined],
    ['config size', chosen('config size') ? configSize : undefined],
    ['big list', chosen('big list') ? bigList : undefined],
    ['held queries', chosen('held queries') ? heldQueries : undefined],
  ] as const) {
    if (run === undefined) continue
    const started = performance.now()
    const notes = await run()
    console.log(`\n## reference server under load: ${title} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
    for (const line of notes) console.log(`  ${line}`)
    out.push({ title: `reference server under load: ${title}`, baseline: '', cases: [], notes })
  }
  return out
}
