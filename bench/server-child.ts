/** Starts a reference-server CLI (or any script printing its "listening on" line) as a child process for the benches. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

export interface ChildServer {
  readonly url: string
  readonly pid: number
  close(): Promise<void>
}

/** `args` follow the node binary: `['--import', 'tsx', 'src/server/cli.ts', '--port', '0', …]`. */
export async function spawnServer(args: readonly string[]): Promise<ChildServer> {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, GOVERNANCE_TOKEN: '', GOVERNANCE_READ_TOKEN: '', GOVERNANCE_DATA_DIR: '', GOVERNANCE_HOST: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await listeningUrl(child)
  return {
    url,
    pid: child.pid!,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** Resolves with the URL of the CLI's "listening on" line. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk
      const match = /governance-server listening on (http:\/\/\S+)/.exec(out)
      if (match) resolveUrl(match[1]!)
    })
    child.once('exit', (code, signal) => reject(new Error(`the server exited (${code ?? signal}) before listening`)))
  })
}

/** Resident set size of a process, in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024
}

/** Linux reports /proc/<pid>/stat times in USER_HZ ticks, 100 per second on every architecture Node runs on. */
const NS_PER_TICK = 1e9 / 100

/** utime + stime of a process, in ns. The fields are counted after the ")" that ends comm. */
export function procCpuNs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
  return (Number(fields[11]) + Number(fields[12])) * NS_PER_TICK
}
