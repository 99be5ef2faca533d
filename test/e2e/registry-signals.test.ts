/**
 * handleSignals: true in a real child process. On SIGTERM the instance is DOWN at the server
 * during the drain, deregistered before the process ends, and the process then ends by the
 * signal, as it would have without the client.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import type { ServiceSnapshot } from '../../src/types.js'
import { eventually } from '../backends/watch-recorder.js'

const DRAIN_MS = 1_000
const TTL_MS = 10_000

let server: GovernanceServer | undefined
let child: ChildProcess | undefined
let observer: Backend | undefined
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  child = undefined
  await observer?.close()
  observer = undefined
  await server?.close()
  server = undefined
})

describe('handleSignals', () => {
  it('on SIGTERM marks the instance DOWN for the drain, deregisters it, then lets the signal end the process', async () => {
    server = await createGovernanceServer({ port: 0, host: '127.0.0.1', closeGraceMs: 100 })
    const proc = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/registry-signal-child.ts', server.url], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = proc
    const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    let stderr = ''
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const lines: string[] = []
    const registered = new Promise<void>((resolve, reject) => {
      createInterface({ input: proc.stdout }).on('line', (line) => {
        lines.push(line)
        if (line === 'registered') resolve()
      })
      void exited.then(() => reject(new Error(`child exited before registering: ${stderr}`)))
    })
    await registered

    // A blocking query (watch) on the service records every state the server goes through.
    const watching = httpBackend({ server: server.url, requestTimeoutMs: 2_000, watchWaitMs: 5_000 })
    observer = watching
    const seen: { at: number; status: string | undefined }[] = []
    let stopWatch = (): void => {}
    const first = new Promise<void>((resolve) => {
      stopWatch = watching.watchService!('signals', {
        next: (snapshot: ServiceSnapshot) => {
          seen.push({ at: performance.now(), status: snapshot.instances.find((i) => i.id === 'signals-1')?.status })
          resolve()
        },
        error: () => {},
      })
    })
    await first
    expect(seen.at(-1)?.status).toBe('UP')

    const termAt = performance.now()
    proc.kill('SIGTERM')
    const [code, signal] = await exited
    const exitAt = performance.now()
    const listedAtExit = (await watching.resolve('signals', {})).instances
    // The removal happened before the exit; the watch reports it once its answer arrives.
    await eventually(() => seen.some((s) => s.at > termAt && s.status === undefined), 10_000, 'the watch seeing the instance gone').catch(() => {})
    stopWatch()

    expect(code).toBeNull()
    expect(signal).toBe('SIGTERM')
    expect(lines).toEqual(['registered', 'status DOWN', 'deregistered'])
    // DOWN was visible at the server during the drain, then the instance was removed.
    const down = seen.find((s) => s.at > termAt && s.status === 'DOWN')
    const gone = seen.find((s) => s.at > termAt && s.status === undefined)
    expect(down).toBeDefined()
    expect(gone).toBeDefined()
    expect(gone!.at - down!.at).toBeGreaterThanOrEqual(DRAIN_MS - 100)
    // Gone when the process ended, by deregistration, long before the TTL could expire it.
    expect(listedAtExit).toEqual([])
    expect(exitAt - termAt).toBeLessThan(TTL_MS)
    expect(exitAt - termAt).toBeGreaterThanOrEqual(DRAIN_MS)
    console.info(
      `registry signals: DOWN ${(down!.at - termAt).toFixed(0)} ms after SIGTERM, gone after ${(gone!.at - termAt).toFixed(0)} ms, ` +
        `process ended after ${(exitAt - termAt).toFixed(0)} ms (drain ${DRAIN_MS} ms)`,
    )
  })
})
