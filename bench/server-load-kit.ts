/** What the reference server's load cases share: a CLI child with a control pool, requests that must succeed, waiting for held queries. */
import { Pool } from 'undici'
import { spawnServer, type ChildServer } from './server-child.js'

export const CLI = ['--import', 'tsx', 'src/server/cli.ts', '--port', '0']
export const ms = (ns: number): string => `${ns.toFixed(1)} ms`
export const MiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`
export const sleep = (t: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, t))
export const instance = (ttlMs = 60_000) => JSON.stringify({ address: '10.0.0.1', port: 8080, ttlMs, metadata: { zone: 'a', version: '1.2.3' }, tags: ['http'] })
export const JSON_HEADERS = { 'content-type': 'application/json' }

export async function request(pool: Pool, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await pool.request({ method, path, ...(body === undefined ? {} : { body, headers: JSON_HEADERS }) })
  return { status: res.statusCode, text: await res.body.text() }
}

/** A write the bench depends on: anything but 200 stops the bench. */
export async function mustPut(pool: Pool, path: string, body: string): Promise<void> {
  const r = await request(pool, 'PUT', path, body)
  if (r.status !== 200) throw new Error(`PUT ${path} answered ${r.status}: ${r.text.slice(0, 200)}`)
}

export async function held(pool: Pool, n: number): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if ((JSON.parse((await request(pool, 'GET', '/v1/health')).text) as { held: number }).held >= n) return
    await sleep(20)
  }
  throw new Error(`never saw ${n} held queries`)
}

/** Runs `count` calls of `make(i)`, `concurrency` at a time. */
export async function parallel(count: number, concurrency: number, make: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await make(next++)
  }))
}

export async function withServer<T>(args: readonly string[], run: (server: ChildServer, pool: Pool) => Promise<T>, connections = 64): Promise<T> {
  const server = await spawnServer([...CLI, ...args])
  const pool = new Pool(server.url, { connections, pipelining: 1, headersTimeout: 120_000, bodyTimeout: 120_000 })
  try {
    return await run(server, pool)
  } finally {
    await pool.destroy()
    await server.close()
  }
}

