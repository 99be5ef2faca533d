/**
 * Change -> watcher latency of the reference server (issue 13) for 1,000 watchers of one
 * 1,000-instance service and 1,000 watchers of one config key, over both transports, on one
 * server (the CLI in a child process) in alternating rounds (A B C D, B C D A, …):
 * - blocking queries (protocol section 4): per change, 1,000 raw sockets each hold
 *   `GET …?index=N`; each is timed to its whole answer (the full list for the service);
 * - the multiplexed watch (section 4.1): 1,000 streams (one connection each) opened once;
 *   each is timed to the frame carrying the change (a diff for the service).
 * A change is one instance's metadata (or the key's value) written by the control pool.
 * The multiplexed watchers watch a service and key of their own, so the other cases'
 * changes do not wake them. BENCH_SERVER_WATCH_ROUNDS (default 15) sets the changes per case.
 */
import { connect, type Socket } from 'node:net'
import type { Pool } from 'undici'
import { percentile } from './lib.js'
import { openMuxStream, type MuxFrame } from './mux-raw-stream.js'
import { procCpuNs, type ChildServer } from './server-child.js'
import { held, ms, mustPut, parallel, request, sleep, withServer } from './server-load-kit.js'

export const WATCHER_CASES = ['service watchers', 'key watchers', 'service watchers mux', 'key watchers mux'] as const
export type WatcherCaseName = (typeof WATCHER_CASES)[number]

const WATCHERS = 1_000
const ROUNDS = Number(process.env['BENCH_SERVER_WATCH_ROUNDS'] ?? 15)
const ARRIVAL_TIMEOUT_MS = 30_000
const body = (rev: string): string => JSON.stringify({ address: '10.0.0.1', port: 8080, ttlMs: 600_000, metadata: { zone: 'a', version: '1.2.3', rev }, tags: ['http'] })

interface Sample {
  readonly latencies: number[]
  /** Bytes one watcher received for the change (its answer or its frame). */
  readonly bytes: number
}

interface WatcherCase {
  readonly name: WatcherCaseName
  readonly what: string
  prepare(): Promise<void>
  change(round: number): Promise<Sample>
  close(): void
}

interface Env {
  readonly server: ChildServer
  readonly control: Pool
  readonly port: number
}

/** One blocking GET on a raw socket that only counts the answer's bytes; resolves with its body length once all of it arrived. */
function rawWatch(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n`))
    let head = ''
    let length = 0
    let remaining = -1
    socket.on('data', (chunk: Buffer) => {
      if (remaining < 0) {
        head += chunk.toString('latin1')
        const end = head.indexOf('\r\n\r\n')
        if (end < 0) return
        length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
        remaining = length - (head.length - end - 4)
      } else remaining -= chunk.length
      if (remaining <= 0) {
        socket.destroy()
        resolve(length)
      }
    })
    socket.on('error', reject)
  })
}

/** 1,000 blocking queries on `path` held at `index`; the time from sending `change` to each one's whole answer. */
async function blockingChange(env: Env, path: string, index: string, change: () => Promise<unknown>): Promise<Sample> {
  const before = (JSON.parse((await request(env.control, 'GET', '/v1/health')).text) as { held: number }).held
  let t0 = 0
  const done = Array.from({ length: WATCHERS }, async () => {
    const bytes = await rawWatch(env.port, `${path}?index=${index}&wait=60s`)
    return { at: performance.now() - t0, bytes }
  })
  await held(env.control, before + WATCHERS)
  t0 = performance.now()
  await change()
  const answers = await Promise.all(done)
  return { latencies: answers.map((a) => a.at), bytes: answers[0]!.bytes }
}

function blockingService(env: Env): WatcherCase {
  return {
    name: 'service watchers',
    what: 'blocking queries, the full list per watcher',
    prepare: () => parallel(1_000, 64, (i) => mustPut(env.control, `/v1/services/big/instances/i${i}`, body('start'))),
    change: async (round) => {
      const index = (JSON.parse((await request(env.control, 'GET', '/v1/services/big')).text) as { index: string }).index
      return blockingChange(env, '/v1/services/big', index, () => mustPut(env.control, '/v1/services/big/instances/i0', body(`b${round}`)))
    },
    close: () => undefined,
  }
}

function blockingKey(env: Env): WatcherCase {
  const put = async (value: unknown): Promise<string> => {
    const r = await request(env.control, 'PUT', '/v1/config/hot', JSON.stringify({ value }))
    if (r.status !== 200) throw new Error(`PUT /v1/config/hot answered ${r.status}`)
    return (JSON.parse(r.text) as { version: string }).version
  }
  return {
    name: 'key watchers',
    what: 'blocking queries',
    prepare: async () => void (await put({ start: true })),
    change: async (round) => blockingChange(env, '/v1/config/hot', await put({ round }), () => put({ round, next: true })),
    close: () => undefined,
  }
}

/** One stream's wait for the frame carrying a change. */
interface StreamWait {
  readonly marker: string
  readonly resolve: (frame: MuxFrame) => void
}

/** 1,000 multiplexed watch streams of one resource; `kind` is the frame type that carries it. */
class MuxWatchers {
  readonly #sockets: Socket[] = []
  readonly #waits = new Map<number, StreamWait>()
  readonly #ready = new Set<number>()
  #failure: Error | undefined
  #closed = false

  constructor(
    private readonly env: Env,
    private readonly resource: { service: string } | { config: string },
    private readonly kind: 'service' | 'config',
  ) {}

  /** Opens the streams 100 at a time and waits for each one's first frame of the resource. */
  async open(): Promise<void> {
    for (let from = 0; from < WATCHERS; from += 100) {
      for (let i = from; i < from + 100; i++) this.#sockets.push(this.#openOne(i))
      await this.#until(() => this.#ready.size >= from + 100, `${from + 100} streams ready`)
    }
  }

  /** Sends `change`; resolves with each stream's time to the frame that contains `marker`. */
  async change(marker: string, change: () => Promise<unknown>): Promise<Sample> {
    const arrivals = Array.from({ length: WATCHERS }, (_, i) => new Promise<MuxFrame>((resolve) => this.#waits.set(i, { marker, resolve })))
    const t0 = performance.now()
    await change()
    const all = Promise.all(arrivals)
    await this.#until(() => this.#waits.size === 0, `the frame with ${marker} on every stream`)
    const frames = await all
    return { latencies: frames.map((f) => f.at - t0), bytes: frames[0]!.bytes }
  }

  close(): void {
    this.#closed = true
    for (const socket of this.#sockets) socket.destroy()
  }

  #openOne(i: number): Socket {
    const request = { resources: [{ ...this.resource, index: '0' }], keepAliveMs: 60_000 }
    return openMuxStream(this.env.port, request, {
      onFrame: (frame) => this.#frame(i, frame),
      onEnd: (error) => {
        if (!this.#closed) this.#failure ??= error
      },
    })
  }

  #frame(i: number, frame: MuxFrame): void {
    if (!frame.head.startsWith(`{"type":"${this.kind}"`)) return
    if (!this.#ready.has(i)) return void this.#ready.add(i)
    const wait = this.#waits.get(i)
    if (wait !== undefined && frame.text?.includes(wait.marker)) {
      this.#waits.delete(i)
      wait.resolve(frame)
    }
  }

  async #until(done: () => boolean, what: string): Promise<void> {
    const deadline = performance.now() + ARRIVAL_TIMEOUT_MS
    while (!done()) {
      if (this.#failure) throw new Error(`multiplexed watch failed: ${this.#failure.message}`)
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await sleep(1)
    }
  }
}

function muxService(env: Env): WatcherCase {
  const streams = new MuxWatchers(env, { service: 'big-mux' }, 'service')
  return {
    name: 'service watchers mux',
    what: 'multiplexed watch, 1,000 streams',
    prepare: async () => {
      await parallel(1_000, 64, (i) => mustPut(env.control, `/v1/services/big-mux/instances/i${i}`, body('start')))
      await streams.open()
    },
    change: (round) => streams.change(`"rev":"m${round}"`, () => mustPut(env.control, '/v1/services/big-mux/instances/i0', body(`m${round}`))),
    close: () => streams.close(),
  }
}

function muxKey(env: Env): WatcherCase {
  const streams = new MuxWatchers(env, { config: 'hot-mux' }, 'config')
  return {
    name: 'key watchers mux',
    what: 'multiplexed watch, 1,000 streams',
    prepare: async () => {
      await mustPut(env.control, '/v1/config/hot-mux', JSON.stringify({ value: { start: true } }))
      await streams.open()
    },
    change: (round) => streams.change(`"rev":"k${round}"`, () => mustPut(env.control, '/v1/config/hot-mux', JSON.stringify({ value: { rev: `k${round}` } }))),
    close: () => streams.close(),
  }
}

const MAKERS: Readonly<Record<WatcherCaseName, (env: Env) => WatcherCase>> = {
  'service watchers': blockingService,
  'key watchers': blockingKey,
  'service watchers mux': muxService,
  'key watchers mux': muxKey,
}

const TITLES: Readonly<Record<WatcherCaseName, string>> = {
  'service watchers': '1,000 watchers of one 1,000-instance service',
  'key watchers': '1,000 watchers of one config key',
  'service watchers mux': '1,000 watchers of one 1,000-instance service',
  'key watchers mux': '1,000 watchers of one config key',
}

interface Tally {
  readonly latencies: number[]
  readonly roundP99: number[]
  bytes: number
  serverCpuNs: number
  benchCpuNs: number
}

/** Runs the chosen cases in rotated rounds on one server; one line per case. */
export async function watcherCases(chosen: readonly WatcherCaseName[]): Promise<string[]> {
  const limits = ['--max-connections-per-client', '6000', '--max-connections', '6000']
  return withServer(limits, async (server, control) => {
    const env: Env = { server, control, port: Number(new URL(server.url).port) }
    const cases = chosen.map((name) => MAKERS[name](env))
    const tallies = new Map(cases.map((c) => [c, { latencies: [], roundP99: [], bytes: 0, serverCpuNs: 0, benchCpuNs: 0 } as Tally]))
    try {
      for (const c of cases) await c.prepare()
      for (const c of cases) await c.change(-1) // warm-up
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < cases.length; i++) {
          const c = cases[(i + round) % cases.length]!
          const cpu0 = procCpuNs(server.pid)
          const bench0 = process.cpuUsage()
          const sample = await c.change(round)
          const bench = process.cpuUsage(bench0)
          const tally = tallies.get(c)!
          tally.serverCpuNs += procCpuNs(server.pid) - cpu0
          tally.benchCpuNs += (bench.user + bench.system) * 1000
          tally.latencies.push(...sample.latencies)
          tally.roundP99.push(percentile(sample.latencies, 99))
          tally.bytes = sample.bytes
        }
      }
    } finally {
      for (const c of cases) c.close()
    }
    return cases.map((c) => describe(c, tallies.get(c)!))
  })
}

function describe(c: WatcherCase, t: Tally): string {
  const p = (q: number): string => ms(percentile(t.latencies, q))
  const range = `${ms(Math.min(...t.roundP99))}-${ms(Math.max(...t.roundP99))}`
  const size = t.bytes >= 1024 ? `${(t.bytes / 1024).toFixed(0)} KiB` : `${t.bytes} B`
  return `change -> watcher, ${TITLES[c.name]}, ${c.what} (${size} per watcher per change): p50 ${p(50)}, p99 ${p(99)} (${ROUNDS} changes, p99 per change ${range}); CPU per change: server ${ms(t.serverCpuNs / ROUNDS / 1e6)}, bench ${ms(t.benchCpuNs / ROUNDS / 1e6)}`
}
