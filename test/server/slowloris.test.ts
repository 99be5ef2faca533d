/**
 * A slowloris against the CLI limited to 1,024 file descriptors: 1,100 connections from one
 * address that trickle header bytes must not lock out legitimate clients from another.
 * (Loopback accepts every 127.0.0.0/8 address, so the attacker binds 127.0.0.2.)
 */
import type { Socket } from 'node:net'
import { connect } from 'node:net'
import { describe, expect, it } from 'vitest'
import { call, onCleanup } from './helpers.js'
import { runCli } from './process-helpers.js'

const ATTACKERS = 1_100
const LEGITIMATE = 60

function slowConnection(port: number): Socket {
  const socket = connect({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }, () => socket.write('G'))
  socket.on('error', () => {})
  return socket
}

describe('slowloris', () => {
  it(`leaves >= 95% of ${LEGITIMATE} legitimate requests answered while ${ATTACKERS} slow connections attack a 1,024-descriptor server`, async () => {
    const cli = runCli(['--port', '0'], {}, { nofile: 1_024 })
    const url = await cli.url
    const port = Number(new URL(url).port)
    const sockets: Socket[] = []
    onCleanup(async () => sockets.forEach((s) => s.destroy()))
    for (let i = 0; i < ATTACKERS; i++) sockets.push(slowConnection(port))
    // One more header byte per second on every attacking connection still open.
    const trickle = setInterval(() => sockets.forEach((s) => s.writable && s.write('E')), 1_000)
    onCleanup(async () => clearInterval(trickle))
    await new Promise((resolve) => setTimeout(resolve, 1_000))

    let answered = 0
    const failures: string[] = []
    for (let i = 0; i < LEGITIMATE; i += 10) {
      const wave = Array.from({ length: 10 }, () =>
        call(url, 'GET', '/v1/health', { headers: { connection: 'close' }, signal: AbortSignal.timeout(5_000) }).then(
          (r) => r.status === 200,
          (error: Error) => {
            failures.push((error as { code?: string }).code ?? error.message)
            return false
          },
        ),
      )
      answered += (await Promise.all(wave)).filter(Boolean).length
    }
    const { stats } = (await call(url, 'GET', '/v1/health')).json
    console.log(`slowloris: ${answered}/${LEGITIMATE} answered; refused per client ${stats.connectionsRefusedPerClient}, open ${stats.usage.connections}; failures ${JSON.stringify(failures)}`)
    expect(answered).toBeGreaterThanOrEqual(Math.ceil(LEGITIMATE * 0.95))
    expect(stats.connectionsRefusedPerClient).toBeGreaterThan(0)
    expect(stats.limits.maxConnections).toBeLessThan(1_024)
    expect(cli.stderr()).toMatch(/connection refused: maxConnectionsPerClient reached/)
  }, 60_000)
})
