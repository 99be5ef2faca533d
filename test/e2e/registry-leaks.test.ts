/**
 * 1,000 register/close cycles and 10,000 heartbeats against the real reference server leave
 * nothing behind. Run in a child process with --expose-gc, so that the heap can be measured
 * after real collections and the counts see no test runner.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)

interface Counts {
  timers: number
  sockets: number
  resources: Record<string, number>
  listeners: Record<string, number>
}

interface LeakReport {
  cycles: number
  heartbeats: number
  epochsLostDuringHeartbeats: number
  cyclesMs: number
  heartbeatsMs: number
  heapBefore: number
  heapAfterCycles: number
  heapAfterHeartbeats: number
  registrationsMade: number
  registrationsAliveAfterCycles: number
  base: Counts
  after: Counts
  listedAfter: number
}

describe('registration resources', () => {
  it('1,000 register/close cycles and 10,000 heartbeats leave no timers, sockets, listeners or heap behind', async () => {
    const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/fixtures/registry-leak-child.ts', '1000', '10000'], {
      timeout: 80_000,
      killSignal: 'SIGKILL',
    })
    const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as LeakReport
    const mb = (n: number): string => (n / 1e6).toFixed(2)
    console.info(
      `registry leaks: ${report.cycles} cycles in ${report.cyclesMs} ms, ${report.heartbeats} heartbeats in ${report.heartbeatsMs} ms; ` +
        `heap ${mb(report.heapBefore)} → ${mb(report.heapAfterCycles)} → ${mb(report.heapAfterHeartbeats)} MB; ` +
        `registrations alive ${report.registrationsAliveAfterCycles}/${report.registrationsMade}; after ${JSON.stringify(report.after)}`,
    )
    expect(report.cycles).toBe(1_000)
    expect(report.heartbeats).toBe(10_000)
    expect(report.epochsLostDuringHeartbeats).toBe(0)
    // No timer of ours or of undici is left, not even an unref'd one.
    expect(report.after.timers).toBe(0)
    expect(report.after.sockets).toBeLessThanOrEqual(report.base.sockets)
    expect(report.after.resources.TCPSocketWrap ?? 0).toBe(0)
    expect(report.after.listeners).toEqual(report.base.listeners)
    expect(report.listedAfter).toBe(0)
    // Every Registration was collected; the heap moved by noise only (1,000 leaked
    // registrations with their loops would hold several MB).
    expect(report.registrationsAliveAfterCycles).toBe(0)
    expect(report.heapAfterCycles - report.heapBefore).toBeLessThan(3_000_000)
    expect(report.heapAfterHeartbeats - report.heapAfterCycles).toBeLessThan(3_000_000)
  }, 90_000)
})
