/**
 * gov.fetch under a POST load while one of two real instances (child processes) is SIGKILLed:
 * a POST that met a refused connection never left, so it goes to the other instance and no
 * POST fails on a connect error. A routed failure is an UpstreamError naming the instance.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import type { DiscoveryOptions } from '../../src/discovery/index.js'
import { createRoutedDiscovery, type RoutedDiscovery as Discovery } from '../helpers/routed-discovery.js'
import { GovernanceError, ServerUnavailableError, UpstreamError } from '../../src/errors.js'
import { silentLogger } from '../../src/internal/logger.js'
import { systemClock } from '../../src/internal/timers.js'
import { createMemoryBackend, type MemoryBackend } from '../../src/testing/index.js'

const cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {})
})

// An instance: answers each POST with its name after reading the body and a short pause,
// so that requests are in flight when it is killed.
const INSTANCE_SOURCE = `
const http = require('node:http')
const server = http.createServer((req, res) => {
  req.resume()
  req.on('end', () => setTimeout(() => res.end(process.argv[1]), 3))
})
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'))
`

async function spawnInstance(name: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', INSTANCE_SOURCE, name], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = once(child, 'exit')
  cleanup.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  let out = ''
  child.stdout!.setEncoding('utf8')
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      out += chunk
      const match = /port (\d+)/.exec(out)
      if (match) resolve(Number(match[1]))
    })
    void exited.then(() => reject(new Error(`instance ${name} exited before listening`)))
  })
  return { child, port }
}

async function setup(names: readonly string[], routing: DiscoveryOptions['routing'] = {}): Promise<{ discovery: Discovery; backend: MemoryBackend; children: Map<string, ChildProcess> }> {
  const backend = createMemoryBackend()
  const children = new Map<string, ChildProcess>()
  for (const name of names) {
    const { child, port } = await spawnInstance(name)
    children.set(name, child)
    backend.addInstance({ service: 'payments', id: name, address: '127.0.0.1', port })
  }
  const discovery = createRoutedDiscovery({ routing }, {
    backend,
    emit: () => {},
    logger: silentLogger,
    clock: systemClock,
    requestTimeoutMs: 5_000,
  })
  cleanup.push(() => discovery.close())
  return { discovery, backend, children }
}

function causeCode(error: unknown): string | undefined {
  let e: unknown = error
  for (let depth = 0; depth < 4 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && !code.startsWith('GOV_')) return code
    e = e.cause
  }
  return undefined
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT'])

describe('gov.fetch POST while an instance is SIGKILLed', () => {
  it('fails no POST on a connect error: each is sent to the live instance', async () => {
    const { discovery, children } = await setup(['a', 'b'])
    const answers: string[] = []
    const failures: unknown[] = []
    let stop = false
    const loop = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await discovery.fetch('http://payments/charge', { method: 'POST', body: JSON.stringify({ amount: 1 }), headers: { 'content-type': 'application/json' } })
          answers.push(await res.text())
        } catch (error) {
          failures.push(error)
        }
      }
    }
    const loops = Array.from({ length: 8 }, loop)
    while (answers.length < 200) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(new Set(answers)).toEqual(new Set(['a', 'b']))

    const killedAt = answers.length
    children.get('b')!.kill('SIGKILL')
    await once(children.get('b')!, 'exit')
    while (answers.length < killedAt + 400) await new Promise((resolve) => setTimeout(resolve, 10))
    stop = true
    await Promise.all(loops)

    const connectFailures = failures.filter((f) => CONNECT_ERRORS.has(causeCode(f) ?? ''))
    expect(connectFailures).toEqual([])
    // Only POSTs already written to b when it died may fail (one per loop at most), each
    // as an UpstreamError naming b.
    expect(failures.length).toBeLessThanOrEqual(8)
    for (const failure of failures) {
      expect(failure).toBeInstanceOf(UpstreamError)
      expect((failure as UpstreamError).details).toMatchObject({ service: 'payments', instanceId: 'b' })
    }
    expect(answers.slice(-100).every((name) => name === 'a')).toBe(true)
    console.log(`routing-post-kill: ${answers.length - killedAt} POSTs after the kill, ${failures.length} failed (in flight at b: ${failures.map(causeCode).join(', ') || 'none'})`)
  })

  it('reports a routed failure as UpstreamError with service, instance and address, not as the server', async () => {
    const { discovery, children } = await setup(['solo'], { retryConnectFailures: false })
    const first = await discovery.fetch('http://payments/charge', { method: 'POST', body: 'x' })
    expect(await first.text()).toBe('solo')
    const port = discovery.pickSync('payments')!.port
    children.get('solo')!.kill('SIGKILL')
    await once(children.get('solo')!, 'exit')

    const error = await discovery.fetch('http://payments/charge', { method: 'POST', body: 'x' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UpstreamError)
    expect(error).toBeInstanceOf(GovernanceError)
    expect(error).not.toBeInstanceOf(ServerUnavailableError)
    expect(error).toMatchObject({ code: 'GOV_UPSTREAM_UNAVAILABLE', retryable: true, details: { service: 'payments', instanceId: 'solo', address: `127.0.0.1:${port}` } })
    expect(String((error as Error).message)).toContain('instance solo')
  })
})
