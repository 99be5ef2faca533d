/**
 * One rule on every backend (docs/config.md): an active config watch keeps the process
 * alive, and once it is unsubscribed (or the client closed) nothing of the client does.
 * Checked with a child process that has nothing else to do.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGovernanceServer, type GovernanceServer } from '../../src/server/index.js'
import { flaskAvailable, startFlaskCenters, type FlaskCenters } from '../helpers/flask-seed.js'

const CHILD = fileURLToPath(new URL('../fixtures/keep-alive-child.ts', import.meta.url))
const withFlask = flaskAvailable('the keep-alive test of the seed backend')

/** 'alive' when the child still runs after `aliveForMs`, else its exit code. */
async function run(kind: string, urls: object, unsubscribeAfter: string, aliveForMs: number): Promise<'alive' | number> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, kind, JSON.stringify(urls), unsubscribeAfter], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = once(child, 'exit').then(([code]) => code as number)
  try {
    await new Promise<void>((resolve) => child.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('watching') && resolve()))
    const outcome = await Promise.race([exited, new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), aliveForMs))])
    return outcome
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  }
}

describe('an active config watch keeps the process alive, on every backend', () => {
  let server: GovernanceServer
  let centers: FlaskCenters | undefined
  beforeAll(async () => {
    server = await createGovernanceServer({ port: 0 })
    if (withFlask) centers = await startFlaskCenters()
  })
  afterAll(async () => {
    await server?.close()
    await centers?.stop()
  })

  it('http backend: alive while watching, exits once unsubscribed', async () => {
    expect(await run('http', { server: server.url }, 'never', 2_500)).toBe('alive')
    expect(await run('http', { server: server.url }, '300', 8_000)).toBe(0)
  })

  it.skipIf(!withFlask)('seed backend: the same', async () => {
    const urls = { registry: centers!.registry, monitor: centers!.monitor, config: centers!.config }
    expect(await run('seed', urls, 'never', 2_500)).toBe('alive')
    expect(await run('seed', urls, '300', 8_000)).toBe(0)
  })
})
