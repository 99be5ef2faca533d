/**
 * Real etcd members for tests: 1 or 3 processes on free 127.0.0.1 ports with temp data
 * dirs, fast election timings, helpers to find and kill the leader, and cleanup. Nothing
 * listens beyond loopback.
 *
 * etcd comes from Debian's etcd-server package. Outside CI a missing binary skips the
 * etcd tests with a one-line notice; with CI=true it fails the run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const ETCD_INSTALL_HINT = 'apt-get install etcd-server'

let found: string | null | undefined

/** The etcd binary on PATH (or /usr/bin/etcd), or undefined. */
export function etcdBinary(): string | undefined {
  if (found === undefined) {
    const which = spawnSync('sh', ['-c', 'command -v etcd || test -x /usr/bin/etcd && echo /usr/bin/etcd'], { encoding: 'utf8' })
    found = which.stdout.trim().split('\n')[0] || null
  }
  return found ?? undefined
}

/**
 * True when etcd tests can run. Without etcd: false plus a one-line notice, or, under
 * CI=true, an exception, so that a CI machine missing etcd cannot pass by skipping.
 */
export function etcdAvailable(suite = 'etcd tests', lookup: () => string | undefined = etcdBinary): boolean {
  if (lookup() !== undefined) return true
  const message = `etcd is not on PATH: ${suite} need it (${ETCD_INSTALL_HINT})`
  if (process.env.CI === 'true') throw new Error(`${message}; CI=true, so this is a failure, not a skip`)
  console.warn(`[skip] ${message}`)
  return false
}

export interface EtcdMember {
  readonly name: string
  readonly clientUrl: string
  readonly peerUrl: string
  readonly dataDir: string
  readonly process: ChildProcess
  /** False once the process has exited. */
  alive: boolean
  /** The end of its log (stderr), for error messages; `logEnded` once the process closed it. */
  readonly log: () => string
  readonly logEnded: Promise<void>
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[]
  /** Client URLs of every member, in start order. */
  readonly endpoints: readonly string[]
  /** The member that currently leads, asked of the live members. */
  leader(): Promise<EtcdMember>
  /** Sends the signal and waits for the process to exit. */
  kill(member: EtcdMember, signal?: NodeJS.Signals): Promise<void>
  /** Kills every member and deletes the data dirs. Idempotent. */
  stop(): Promise<void>
}

export interface EtcdClusterOptions {
  readonly size?: 1 | 3
  /** Extra flags for every member, e.g. ['--auth-token', 'simple', '--auth-token-ttl', '1']. */
  readonly extraArgs?: readonly string[]
  readonly startTimeoutMs?: number
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/** One POST to a member's JSON gateway; answers status and parsed body. */
export async function etcdCall(endpoint: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${endpoint}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text.split('\n')[0] as string) as Record<string, unknown>) }
}

export const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')

export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  // The ports were free a moment ago; another process may have taken one since. Then that
  // member exits at once (bind: address already in use), and the cluster is started again
  // on other ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options)
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === 3) throw error
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(options: EtcdClusterOptions): Promise<EtcdCluster> {
  const binary = etcdBinary()
  if (binary === undefined) throw new Error(`etcd is not installed (${ETCD_INSTALL_HINT})`)
  const size = options.size ?? 1
  const token = `gov-test-${randomBytes(4).toString('hex')}`
  const ports = await Promise.all(Array.from({ length: size * 2 }, freePort))
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientUrl: `http://127.0.0.1:${ports[i * 2]}`,
    peerUrl: `http://127.0.0.1:${ports[i * 2 + 1]}`,
  }))
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',')
  const members: EtcdMember[] = []
  const cluster = makeCluster(members)
  try {
    for (const spec of specs) {
      const dataDir = await mkdtemp(join(tmpdir(), `gov-etcd-${spec.name}-`))
      const child = spawn(binary, memberArgs(spec, dataDir, initialCluster, token, options.extraArgs ?? []), {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
      const member: EtcdMember = { ...spec, dataDir, process: child, alive: true, ...captureLog(child) }
      child.once('exit', () => (member.alive = false))
      members.push(member)
    }
    await waitReady(members, options.startTimeoutMs ?? 20_000)
    return cluster
  } catch (error) {
    await cluster.stop()
    throw error
  }
}

function memberArgs(spec: { name: string; clientUrl: string; peerUrl: string }, dataDir: string, initialCluster: string, token: string, extra: readonly string[]): string[] {
  return [
    '--name', spec.name,
    '--data-dir', dataDir,
    '--listen-client-urls', spec.clientUrl,
    '--advertise-client-urls', spec.clientUrl,
    '--listen-peer-urls', spec.peerUrl,
    '--initial-advertise-peer-urls', spec.peerUrl,
    '--initial-cluster', initialCluster,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', token,
    // Fast elections keep failover tests short; loopback latency is far below these.
    '--heartbeat-interval', '50',
    '--election-timeout', '500',
    '--logger', 'zap',
    '--log-level', 'error',
    ...extra,
  ]
}

/** Keeps the last lines of a member's log; ETCD_TEST_LOG=1 also prints them as they come. */
function captureLog(child: ChildProcess): { log: () => string; logEnded: Promise<void> } {
  let tail = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4_000)
    if (process.env.ETCD_TEST_LOG === '1') process.stderr.write(chunk)
  })
  const logEnded = new Promise<void>((resolve) => child.stderr?.once('close', () => resolve()) ?? resolve())
  return { log: () => tail, logEnded }
}

async function waitReady(members: readonly EtcdMember[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (const member of members) {
    for (;;) {
      // Any member gone (not only this one): the others would wait for their quorum in vain.
      const dead = members.find((m) => !m.alive)
      if (dead) {
        await Promise.race([dead.logEnded, new Promise((r) => setTimeout(r, 2_000))]) // the whole log, but do not hang on it
        const message = `etcd member ${dead.name} exited during start: ${dead.log().slice(-1_000)}`
        throw /address already in use/i.test(dead.log()) ? new PortTakenError(message) : new Error(message)
      }
      // A linearizable range succeeds only once the member has joined a cluster with a leader.
      const ok = await etcdCall(member.clientUrl, '/v3/kv/range', { key: b64('health') }).then((r) => r.status === 200, () => false)
      if (ok) break
      if (Date.now() > deadline) throw new Error(`etcd member ${member.name} not ready within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

function makeCluster(members: EtcdMember[]): EtcdCluster {
  let stopped = false
  const kill = async (member: EtcdMember, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (!member.alive) return
    const exited = new Promise<void>((resolve) => member.process.once('exit', () => resolve()))
    member.process.kill(signal)
    await exited
  }
  return {
    members,
    get endpoints() {
      return members.map((m) => m.clientUrl)
    },
    async leader() {
      // An election may be under way (a busy machine can make a member miss heartbeats): ask again for a while.
      const deadline = Date.now() + 10_000
      for (;;) {
        for (const m of members.filter((x) => x.alive)) {
          const status = await etcdCall(m.clientUrl, '/v3/maintenance/status', {}).catch(() => undefined)
          const header = status?.body.header as { member_id?: string } | undefined
          if (status?.status === 200 && header?.member_id !== undefined && status.body.leader === header.member_id) return m
        }
        if (Date.now() > deadline) throw new Error('no etcd member says it leads')
        await new Promise((r) => setTimeout(r, 100))
      }
    },
    kill,
    async stop() {
      if (stopped) return
      stopped = true
      await Promise.all(members.map((m) => kill(m, 'SIGKILL')))
      await Promise.all(members.map((m) => rm(m.dataDir, { recursive: true, force: true })))
    },
  }
}
