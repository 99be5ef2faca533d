/** Runs the CLI (src/server/cli.ts) as a child process for the signal and crash tests. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { onCleanup } from './helpers.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

export interface CliProcess {
  readonly child: ChildProcess
  /** Resolves with the URL from the "listening on" line. */
  readonly url: Promise<string>
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>
  stdout(): string
  stderr(): string
}

export interface CliOptions {
  /** Run under `ulimit -n <nofile>` (bash execs node, so it stays one process). */
  readonly nofile?: number
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: CliOptions = {}): CliProcess {
  // process.execPath is the Node 24 that runs vitest; --import tsx runs the TypeScript directly
  // in this one process, so a signal reaches the server itself and not a wrapper.
  const argv = [process.execPath, '--import', 'tsx', 'src/server/cli.ts', ...args]
  const [command, ...rest] =
    options.nofile === undefined ? argv : ['bash', '-c', `ulimit -n ${options.nofile} && exec "$@"`, 'bash', ...argv]
  const child = spawn(command!, rest, {
    cwd: root,
    env: { ...process.env, GOVERNANCE_TOKEN: '', GOVERNANCE_READ_TOKEN: '', GOVERNANCE_DATA_DIR: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string)
  const url = new Promise<string>((resolve, reject) => {
    const onData = (): void => {
      const match = /^governance-server listening on (http:\/\/\S+)$/m.exec(out)
      if (match) resolve(match[1]!)
    }
    child.stdout!.on('data', onData)
    void exited.then((code) => reject(new Error(`cli exited (${code}) before listening: ${err}`)))
  })
  url.catch(() => {}) // only a test that awaits the URL cares that there is none
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  return { child, url, exited, stdout: () => out, stderr: () => err }
}
