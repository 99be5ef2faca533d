/**
 * Starts a real Prometheus Pushgateway (Debian's prometheus-pushgateway) on loopback for
 * a test, in memory only, and stops it. Nothing here leaves the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'

export const PUSHGATEWAY_BIN = process.env.PUSHGATEWAY_BIN ?? '/usr/bin/prometheus-pushgateway'
export const PUSHGATEWAY_INSTALL_HINT = 'apt-get install prometheus-pushgateway'

export interface RunningPushgateway {
  readonly url: string
  /** Its own /metrics page (the pushed groups and its own metrics), as text. */
  scrape(): Promise<string>
  stop(): Promise<void>
}

export function pushgatewayInstalled(): boolean {
  return existsSync(PUSHGATEWAY_BIN)
}

/** A port that was free a moment ago: listen on 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

export async function startPushgateway(timeoutMs = 15_000): Promise<RunningPushgateway> {
  // The port was free a moment ago; another process may have taken it since. Then the
  // Pushgateway exits at once (bind: address already in use), and another port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), timeoutMs)
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === 3) throw error
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(port: number, timeoutMs: number): Promise<RunningPushgateway> {
  const url = `http://127.0.0.1:${port}`
  const child = spawn(
    PUSHGATEWAY_BIN,
    [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)))
  // 'close', not 'exit': stderr is complete by then, for the port-taken check below.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  try {
    await waitReady(url, exited, timeoutMs)
  } catch (error) {
    await stop(child, exited)
    const message = `the Pushgateway did not start on port ${port}: ${(error as Error).message}\n${stderr}`
    throw /address already in use/i.test(stderr) ? new PortTakenError(message) : new Error(message)
  }
  return {
    url,
    scrape: async () => {
      const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })
      if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`)
      return res.text()
    },
    stop: () => stop(child, exited),
  }
}

/** Polls /-/ready (the Pushgateway and Prometheus both answer it) until the process listens. */
export async function waitReady(url: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let gone = false
  void exited.then(() => (gone = true))
  while (Date.now() < deadline) {
    if (gone) throw new Error('the process exited')
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`no answer from ${url}/-/ready within ${timeoutMs} ms`)
}

export async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}
