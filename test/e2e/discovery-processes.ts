/** Real processes for the discovery e2e tests: the reference server (the CLI) and service instances. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { onCleanup } from '../server/helpers.js'
import { runCli } from '../server/process-helpers.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The reference server as a child process on 127.0.0.1:0, killed after the test (also when frozen). */
export async function startServerProcess(): Promise<{ url: string; child: ChildProcess; exited: Promise<number | string> }> {
  const cli = runCli(['--port', '0', '--host', '127.0.0.1'])
  return { url: await cli.url, child: cli.child, exited: cli.exited }
}

export interface InstanceProcess {
  readonly child: ChildProcess
  readonly lines: string[]
  readonly exited: Promise<unknown>
  /** Resolves when the child printed this line (at once if it already did). */
  waitFor(line: string, timeoutMs?: number): Promise<void>
  send(command: string): void
}

/** test/fixtures/discovery-instance-child.ts: one registered instance, driven through stdin and signals. */
export async function startInstance(server: string, service: string, id: string): Promise<InstanceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/discovery-instance-child.ts', server, service, id], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit')
  onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await exited
    }
  })
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const lines: string[] = []
  const waiters = new Set<() => void>()
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line)
    for (const waiter of [...waiters]) waiter()
  })
  const waitFor = (line: string, timeoutMs = 20_000): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!lines.includes(line)) return
        cleanup()
        resolve()
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`instance ${id} did not print "${line}" within ${timeoutMs} ms (got ${JSON.stringify(lines)}; stderr ${stderr})`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      void exited.then(() => setTimeout(check, 50))
      check()
    })
  const instance: InstanceProcess = { child, lines, exited, waitFor, send: (command) => child.stdin!.write(`${command}\n`) }
  await waitFor('registered')
  return instance
}
