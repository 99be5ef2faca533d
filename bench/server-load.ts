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
import { rssBytes, spawnServer, type ChildServer } from './server-child.js'

const root = fileURLToPath(new URL('..', import.meta.url))
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

/** A write the bench depends on: anything but 200 stops the bench. */
async function mustPut(pool: Pool, path: string, body: string): Promise<void> {
  const r = await request(pool, 'PUT', path, body)
  if (r.status !== 200) throw new Error(`PUT ${path} answered ${r.status}: ${r.text.slice(0, 200)}`)
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

/**
 * One blocking GET on a raw socket that only counts the answer's bytes (no parsing, no
 * copies), so that 1,000 of them in this process cost little next to the server; resolves
 * when the whole answer arrived.
 */
function rawWatch(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`))
    let head = ''
    let remaining = -1
    socket.on('data', (chunk: Buffer) => {
      if (remaining < 0) {
        head += chunk.toString('latin1')
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        remaining = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0) - (head.length - end - 4)
      } else remaining -= chunk.length
      if (remaining <= 0) {
        socket.destroy()
        resolve()
      }
    })
    socket.on('error', reject)
  })
}

/** 1,000 watchers of `path` held at `index`; the time from sending `change` to each watcher's full answer. */
async function watcherLatency(port: number, control: Pool, path: string, index: string, change: () => Promise<unknown>): Promise<number[]> {
  let t0 = 0
  const done = Array.from({ length: 1_000 }, async () => {
    await rawWatch(port, `${path}?index=${index}&wait=60s`)
    return performance.now() - t0
  })
  await held(control, 1_000)
  t0 = performance.now()
  await change()
  return Promise.all(done)
}

async function watchers(): Promise<string[]> {
  return withServer(['--max-connections-per-client', '4000', '--max-connections', '4000'], async (server, control) => {
    const port = Number(new URL(server.url).port)
    {
      await parallel(1_000, 64, (i) => mustPut(control, `/v1/services/big/instances/i${i}`, instance()))
      const service: number[] = []
      const key: number[] = []
      for (let round = 0; round < 3; round++) {
        const index = (JSON.parse((await request(control, 'GET', '/v1/services/big')).text) as { index: string }).index
        service.push(...(await watcherLatency(port, control, '/v1/services/big', index, () => request(control, 'PUT', `/v1/services/big/instances/new${round}`, instance()))))
        const v = (JSON.parse((await request(control, 'PUT', '/v1/config/hot', JSON.stringify({ value: { round } }))).text) as { version: string }).version
        key.push(...(await watcherLatency(port, control, '/v1/config/hot', v, () => request(control, 'PUT', '/v1/config/hot', JSON.stringify({ value: { round, next: true } })))))
      }
      return [
        `change -> watcher, 1,000 watchers of one 1,000-instance service: p50 ${ms(percentile(service, 50))}, p99 ${ms(percentile(service, 99))} (3 changes)`,
        `change -> watcher, 1,000 watchers of one config key: p50 ${ms(percentile(key, 50))}, p99 ${ms(percentile(key, 99))} (3 changes)`,
      ]
    }
  })
}

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

export async function runLoadCases(): Promise<ComparisonResult[]> {
  const out: ComparisonResult[] = []
  for (const [title, run] of [
    ['watchers', watchers],
    ['expiry', expiry],
    ['config size', configSize],
    ['big list', bigList],
    ['held queries', heldQueries],
  ] as const) {
    const only = process.env['BENCH_SERVER_LOAD_CASES']
    if (only !== undefined && only !== '' && !only.split(',').includes(title)) continue
    const started = performance.now()
    const notes = await run()
    console.log(`\n## reference server under load: ${title} (${((performance.now() - started) / 1000).toFixed(1)} s)`)
    for (const line of notes) console.log(`  ${line}`)
    out.push({ title: `reference server under load: ${title}`, baseline: '', cases: [], notes })
  }
  return out
}
