/**
 * transport.request overhead per call against a bare undici Pool.request, both reading the
 * same 100-byte JSON answer from a local node:http server, sequential, alternating rounds.
 * The server runs in this process, so CPU per op includes its share (the same for both).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpuUsage } from 'node:process'
import { Pool } from 'undici'
import { createTransport } from '../../src/transport/index.js'
import { compare, median, printComparison, type BenchSuite, type ComparisonResult } from '../lib.js'

const BODY = JSON.stringify({ service: 'orders', index: '42', instances: [{ id: 'orders-1', port: 8080 }], ok: true, pad: 'xxxx' })
const PATH = '/v1/services/orders'

/** Wraps a loop so that every invocation's wall and CPU time per op is kept, in order. */
function timed(loop: (n: number) => Promise<void>): { run: (n: number) => Promise<void>; wall: number[]; cpu: number[] } {
  const wall: number[] = []
  const cpu: number[] = []
  return {
    wall,
    cpu,
    run: async (n) => {
      const c0 = cpuUsage()
      const t0 = process.hrtime.bigint()
      await loop(n)
      wall.push(Number(process.hrtime.bigint() - t0) / n)
      const c = cpuUsage(c0)
      cpu.push(((c.user + c.system) * 1000) / n)
    },
  }
}

/** Median of per-round ratios: both samples of a round ran back to back, so load from other processes hits both alike. */
function pairedRatio(ours: number[], base: number[]): number {
  return median(ours.slice(1).map((v, i) => v / (base[i + 1] as number)))
}

const suite: BenchSuite = async () => {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) })
    res.end(BODY)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  // One connection each: sequential calls never use more, and it keeps the two paths alike.
  const pool = new Pool(origin, { connections: 1 })
  const transport = createTransport({ servers: [origin], connections: 1 })
  const bare = timed(async (n) => {
    for (let i = 0; i < n; i++) {
      const { body } = await pool.request({ path: PATH, method: 'GET' })
      await body.json()
    }
  })
  const ours = timed(async (n) => {
    for (let i = 0; i < n; i++) await transport.request({ method: 'GET', path: PATH })
  })
  try {
    const result = await compare(
      `transport.request vs undici Pool.request (GET, ${Buffer.byteLength(BODY)}-byte JSON, sequential)`,
      [
        { name: 'undici Pool.request + body.json()', run: bare.run },
        { name: 'transport.request', run: ours.run },
      ],
      { iterations: 1_000, rounds: 21, warmupIterations: 1_000 },
    )
    const [base, mine] = result.cases
    const withNotes: ComparisonResult = {
      ...result,
      notes: [
        `time per call, transport / undici: ${(mine!.nsPerOp / base!.nsPerOp).toFixed(3)}x (ratio of medians), ${pairedRatio(ours.wall, bare.wall).toFixed(3)}x (median of per-round ratios); goal <= 1.15x`,
        `cpu per call, transport / undici: ${(mine!.cpuNsPerOp / base!.cpuNsPerOp).toFixed(3)}x (ratio of medians), ${pairedRatio(ours.cpu, bare.cpu).toFixed(3)}x (median of per-round ratios)`,
        `body bytes: ${Buffer.byteLength(BODY)}; undici ${(await import('undici/package.json', { with: { type: 'json' } })).default.version}`,
      ],
    }
    printComparison(withNotes)
    return [withNotes]
  } finally {
    await transport.close()
    await pool.destroy()
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  }
}

export default suite
