import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest'
import { installSignalHandlers } from '../../src/registry/index.js'

const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() }
let kill: MockInstance<typeof process.kill>
let uninstall: (() => void) | undefined
const baseline = { SIGTERM: 0, SIGINT: 0 }

beforeEach(() => {
  // Re-raising for real would end the test worker.
  kill = vi.spyOn(process, 'kill').mockImplementation(() => true)
  baseline.SIGTERM = process.listenerCount('SIGTERM')
  baseline.SIGINT = process.listenerCount('SIGINT')
})

afterEach(() => {
  uninstall?.()
  uninstall = undefined
  vi.restoreAllMocks()
})

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void
  let reject!: (e: unknown) => void
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
  return { promise, resolve, reject }
}

describe('installSignalHandlers', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('on %s closes once, removes its handlers, then re-raises the signal', async (signal) => {
    const close = deferred()
    const onSignal = vi.fn(() => close.promise)
    uninstall = installSignalHandlers(onSignal, logger)
    expect(process.listenerCount(signal)).toBe(baseline[signal] + 1)
    process.emit(signal, signal)
    expect(onSignal).toHaveBeenCalledWith(signal)
    expect(kill).not.toHaveBeenCalled()
    close.resolve()
    await vi.waitFor(() => expect(kill).toHaveBeenCalledWith(process.pid, signal))
    expect(onSignal).toHaveBeenCalledTimes(1)
    expect(process.listenerCount('SIGTERM')).toBe(baseline.SIGTERM)
    expect(process.listenerCount('SIGINT')).toBe(baseline.SIGINT)
  })

  it('a second signal while closing ends the process at once', async () => {
    const close = deferred()
    uninstall = installSignalHandlers(() => close.promise, logger)
    process.emit('SIGTERM', 'SIGTERM')
    process.emit('SIGINT', 'SIGINT')
    expect(kill).toHaveBeenCalledWith(process.pid, 'SIGINT')
    expect(logger.warn).toHaveBeenCalled()
    close.resolve()
  })

  it('leaves the decision to the application when it listens too', async () => {
    const own = vi.fn()
    process.on('SIGTERM', own)
    try {
      uninstall = installSignalHandlers(() => Promise.resolve(), logger)
      process.emit('SIGTERM', 'SIGTERM')
      await vi.waitFor(() => expect(process.listenerCount('SIGTERM')).toBe(baseline.SIGTERM + 1))
      await new Promise((resolve) => setImmediate(resolve))
      expect(kill).not.toHaveBeenCalled()
      expect(own).toHaveBeenCalled()
    } finally {
      process.removeListener('SIGTERM', own)
    }
  })

  it('still re-raises when closing fails, and logs it', async () => {
    const close = deferred()
    uninstall = installSignalHandlers(() => close.promise, logger)
    process.emit('SIGTERM', 'SIGTERM')
    close.reject(new Error('boom'))
    await vi.waitFor(() => expect(kill).toHaveBeenCalledWith(process.pid, 'SIGTERM'))
    expect(logger.error).toHaveBeenCalledWith('closing on SIGTERM failed', expect.anything())
  })

  it('the uninstaller removes the handlers and is idempotent', () => {
    const onSignal = vi.fn(() => Promise.resolve())
    const off = installSignalHandlers(onSignal, logger)
    off()
    off()
    expect(process.listenerCount('SIGTERM')).toBe(baseline.SIGTERM)
    expect(process.listenerCount('SIGINT')).toBe(baseline.SIGINT)
  })
})
