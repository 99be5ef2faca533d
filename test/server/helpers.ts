/** Shared by the server tests: start/stop servers and make raw HTTP calls with undici. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getGlobalDispatcher } from 'undici'
import { afterEach } from 'vitest'
import { createGovernanceServer, type GovernanceServer, type GovernanceServerOptions } from '../../src/server/index.js'

const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

/** A server on 127.0.0.1:0, closed after the test. */
export async function startServer(options: GovernanceServerOptions = {}): Promise<GovernanceServer> {
  const server = await createGovernanceServer({ port: 0, ...options })
  cleanups.push(() => server.close())
  return server
}

/** A temporary directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gov-server-test-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn)
}

export interface Reply {
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly text: string
  readonly json: any
}

export interface CallOptions {
  /** Serialised as JSON unless it is a string or Buffer (sent as is). */
  readonly body?: unknown
  readonly headers?: Record<string, string>
  readonly token?: string
  readonly signal?: AbortSignal
}

export async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const raw = typeof options.body === 'string' || Buffer.isBuffer(options.body)
  const headers: Record<string, string> = {
    ...(options.body === undefined || raw ? {} : { 'content-type': 'application/json' }),
    ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    ...options.headers,
  }
  const body = options.body === undefined ? undefined : raw ? (options.body as string | Buffer) : JSON.stringify(options.body)
  // Raw path: request(url) would normalise `..` and `%2e%2e` before sending.
  const res = await getGlobalDispatcher().request({
    origin: base,
    path,
    method: method as 'GET',
    headers,
    ...(body === undefined ? {} : { body }),
    ...(options.signal ? { signal: options.signal } : {}),
  })
  const text = await res.body.text()
  let json: unknown
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.statusCode, headers: res.headers, text, json }
}

export const instanceBody = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  address: '10.0.0.5',
  port: 8080,
  ttlMs: 30_000,
  ...extra,
})

/** Asserts the protocol's error shape and returns the code. */
export function errorCode(reply: Reply): string {
  const error = reply.json?.error
  if (typeof error?.code !== 'string' || typeof error?.message !== 'string') {
    throw new Error(`not an error body (status ${reply.status}): ${reply.text.slice(0, 200)}`)
  }
  return error.code
}

let counter = 0
/** A name unique within the test run. */
export function unique(prefix: string): string {
  counter += 1
  return `${prefix}-${process.pid}-${counter}`
}

/** Polls `check` until it returns true (bounded; for conditions no event announces). */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Resolves once the server reports `n` held blocking queries. */
export function untilHeld(base: string, n: number, token?: string): Promise<void> {
  return until(async () => (await call(base, 'GET', '/v1/health', token === undefined ? {} : { token })).json?.held === n, `${n} held queries`)
}
