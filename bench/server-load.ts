/**
 * Load cases of the reference server (issue 13), each against the CLI in a child process
 * with the limits it needs raised, so the server has a thread of its own:
 * - change -> watcher latency for 1,000 watchers of one 1,000-instance service and of one key;
 * - an expiry of 10,000 instances (100 services x 100) under 1,000 re-watching watchers, with
 *   a probe (GET /v1/health every 5 ms) whose latency shows how long the loop was blocked;
 * - config PUT latency with 10 and with 50,000 keys, on disk and in memory;
 * - heartbeat latency while 20 clients read a 50,000-instance service, and RSS per 10,000 instances;
 * - time and RSS to hold 18,000 blocking queries.
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool } from 'undici'
import { encodeKeyFile, keyFileName } from '../src/server/config-disk.js'
import { percentile, type ComparisonResult } from './lib.js'
import { rssBytes, spawnServer, type ChildServer } from './server-child.js'

const CLI = ['--import', 'tsx', 'src/server/cli.ts', '--port', '0']
const ms = (ns: number): string => `${ns.toFixed(1)} ms`
const MiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`
const sleep = (t: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, t))
const instance = (ttlMs = 60_000) => JSON.stringify({ address: '10.0.0.1', port: 8080, ttlMs, metadata: { zone: 'a', version: '1.2.3' }, tags: ['http'] })
const JSON_HEADERS = { 'content-type': 'application/json' }

async function request(pool: Pool, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await pool.request({ method, path, ...(body === undefined ? {} : { body, headers: JSON_HEADERS }) })
  return { status: res.statusCode, text: await res.body.text() }
}

async function held(pool: Pool, n: number): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if ((JSON.parse((await request(pool, 'GET', '/v1/health')).text) as { held: number }).held >= n) return
    await sleep(20)
  }
  throw new Error(`never saw ${n} held queries`)
}

/** Runs `count` calls of `make(i)`, `concurrency` at a time. */
async function parallel(count: number, concurrency: number, make: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await make(next++)
  }))
}

async function withServer<T>(args: readonly string[], run: (server: ChildServer, pool: Pool) => Promise<T>, connections = 64): Promise<T> {
  const server = await spawnServer([...CLI, ...args])
  const pool = new Pool(server.url, { connections, pipelining: 1, headersTimeout: 120_000, bodyTimeout: 120_000 })
  try {
    return await run(server, pool)
  } finally {
    await pool.destroy()
    await server.close()
  }
}

/** 1,000 watchers of `path` held at `index`; p99 from sending `change` to each watcher's full answer. */
async function watcherLatency(pool: Pool, control: Pool, path: string, index: string, change: () => Promise<unknown>): Promise<number[]> {
  let t0 = 0
  const done = Array.from({ length: 1_000 }, async () => {
    const res = await pool.request({ method: 'GET', path: `${path}?index=${index}&wait=60s` })
    await res.body.arrayBuffer()
    return performance.now() - t0
  })
  await held(control, 1_000)
  t0 = performance.now()
  await change()
  return Promise.all(done)
}

async function watchers(): Promise<string[]> {
  return withServer(['--max-connections-per-client', '4000', '--max-connections', '4000'], async (_server, control) => {
    const pool = new Pool(_server.url, { connections: 1_100, headersTimeout: 120_000, bodyTimeout: 120_000 })
    try {
      await parallel(1_000, 64, (i) => request(control, 'PUT', `/v1/services/big/instances/i${i}`, instance()))
      const service: number[] = []
      const key: number[] = []
      for (let round = 0; round < 3; round++) {
        const index = (JSON.parse((await request(control, 'GET', '/v1/services/big')).text) as { index: string }).index
        service.push(...(await watcherLatency(pool, control, '/v1/services/big', index, () => request(control, 'PUT', `/v1/services/big/instances/new${round}`, instance()))))
        const v = (JSON.parse((await request(control, 'PUT', '/v1/config/hot', JSON.stringify({ value: { round } }))).text) as { version: string }).version
        key.push(...(await watcherLatency(pool, control, '/v1/config/hot', v, () => request(control, 'PUT', '/v1/config/hot', JSON.stringify({ value: { round, next: true } })))))
      }
      return [
        `change -> watcher, 1,000 watchers of one 1,000-instance service: p50 ${ms(percentile(service, 50))}, p99 ${ms(percentile(service, 99))} (3 changes)`,
        `change -> watcher, 1,000 watchers of one config key: p50 ${ms(percentile(key, 50))}, p99 ${ms(percentile(key, 99))} (3 changes)`,
      ]
    } finally {
      await pool.destroy()
    }
  })
}

/** 10,000 instances (100 services x 100) expire while 10 watchers per service keep re-watching. */
async function expiry(): Promise<string[]> {
  return withServer(['--max-connections-per-client', '4000', '--max-connections', '4000'], async (server, control) => {
    const pool = new Pool(server.url, { connections: 1_100, headersTimeout: 120_000, bodyTimeout: 120_000 })
    const probe = new Pool(server.url, { connections: 1 })
    try {
      await parallel(10_000, 64, (i) => request(control, 'PUT', `/v1/services/s${i % 100}/instances/i${i}`, instance(2_000)))
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
      const latencies: number[] = []
      const started = performance.now()
      while (performance.now() - started < 4_500) {
        const t = performance.now()
        await request(probe, 'GET', '/v1/health')
        latencies.push(performance.now() - t)
        await sleep(5)
      }
      stop = true
      await Promise.all(loops)
      const initialAnswers = 1_000
      return [
        `expiry of 10,000 instances (100 services x 100) with 1,000 re-watching watchers: probe p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(Math.max(...latencies))} over ${latencies.length} probes; ${wakes - initialAnswers} wake-ups after the first answers (${((wakes - initialAnswers) / 1_000).toFixed(1)} per watcher)`,
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
      if (!onDisk) await parallel(keys, 64, (i) => request(pool, 'PUT', `/v1/config/k${i}`, JSON.stringify({ value: { i, pad: 'x'.repeat(200) } })))
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

/** 50,000 instances in one service, 20 clients reading it in loops, one heartbeat loop measured. */
async function bigList(): Promise<string[]> {
  return withServer(['--max-instances-per-service', '60000'], async (server, pool) => {
    const before = rssBytes(server.pid)
    await parallel(50_000, 64, (i) => request(pool, 'PUT', `/v1/services/huge/instances/i${i}`, instance(600_000)))
    await sleep(500)
    const after = rssBytes(server.pid)
    const readers = new Pool(server.url, { connections: 20, bodyTimeout: 120_000 })
    const beat = new Pool(server.url, { connections: 1 })
    try {
      let stop = false
      let reads = 0
      let bytes = 0
      const reader = async (): Promise<void> => {
        while (!stop) {
          const res = await readers.request({ method: 'GET', path: '/v1/services/huge' })
          bytes += (await res.body.arrayBuffer()).byteLength
          reads += 1
        }
      }
      const loops = Array.from({ length: 20 }, reader)
      const latencies: number[] = []
      const started = performance.now()
      while (performance.now() - started < 5_000) {
        const t = performance.now()
        await request(beat, 'PUT', '/v1/services/huge/instances/i1/heartbeat', '{}')
        latencies.push(performance.now() - t)
        await sleep(10)
      }
      stop = true
      await Promise.all(loops)
      const peak = rssBytes(server.pid)
      return [
        `heartbeat while 20 clients read a 50,000-instance service (${MiB(bytes / Math.max(1, reads))} per answer, ${reads} reads in 5 s): p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, max ${ms(Math.max(...latencies))}`,
        `server RSS: ${MiB(before)} empty, ${MiB(after)} with 50,000 instances (${MiB((after - before) / 5)} per 10,000 instances), ${MiB(peak)} after the reads`,
      ]
    } finally {
      await readers.destroy()
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

export async function runLoadCases(): Promise<ComparisonResult[]> {
  const out: ComparisonResult[] = []
  for (const [title, run] of [
    ['watchers', watchers],
    ['expiry', expiry],
    ['config size', configSize],
    ['big list', bigList],
    ['held queries', heldQueries],
  ] as const) {
    const started = performance.now()
    const notes = await run()
    console.log(`\n## reference server under load: ${title} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
    for (const line of notes) console.log(`  ${line}`)
    out.push({ title: `reference server under load: ${title}`, baseline: '', cases: [], notes })
  }
  return out
}
