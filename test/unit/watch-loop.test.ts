/** The shared reconnecting watch loop, driven by a step the test controls. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { WatchMeta } from '../../src/backend.js'
import { ClientClosedError, GovernanceError, ServerUnavailableError } from '../../src/errors.js'
import type { Logger } from '../../src/internal/logger.js'
import { startWatchLoop, type WatchLoopHandle, type WatchStepResult } from '../../src/internal/watch-loop.js'

interface Call {
  after: string | undefined
  signal: AbortSignal
  resolve(v: WatchStepResult<string> | undefined): void
  reject(e: unknown): void
}

/** A step whose every call waits until the test settles it. */
function controllableStep(): { step: (after: string | undefined, signal: AbortSignal) => Promise<WatchStepResult<string> | undefined>; next(): Promise<Call>; inFlight(): number } {
  const queue: Call[] = []
  const waiters: ((c: Call) => void)[] = []
  let inFlight = 0
  return {
    step: (after, signal) =>
      new Promise((resolve, reject) => {
        inFlight++
        const done = <A extends unknown[]>(f: (...a: A) => void) => (...a: A) => (inFlight--, f(...a))
        const call: Call = { after, signal, resolve: done(resolve), reject: done(reject) }
        const w = waiters.shift()
        if (w) w(call)
        else queue.push(call)
      }),
    next: () => new Promise<Call>((r) => (queue.length > 0 ? r(queue.shift()!) : waiters.push(r))),
    inFlight: () => inFlight,
  }
}

function recordingWatcher(): { next: ReturnType<typeof vi.fn<(v: string, m: WatchMeta) => void>>; error: ReturnType<typeof vi.fn<(e: GovernanceError) => void>> } {
  return { next: vi.fn<(v: string, m: WatchMeta) => void>(), error: vi.fn<(e: GovernanceError) => void>() }
}

const logs: { level: string; message: string }[] = []
const logger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message) => void logs.push({ level: 'warn', message }),
  error: (message) => void logs.push({ level: 'error', message }),
}

const handles: WatchLoopHandle[] = []
const unhandledRejections: unknown[] = []
const onUnhandled = (reason: unknown): void => void unhandledRejections.push(reason)
beforeAll(() => void process.on('unhandledRejection', onUnhandled))
afterEach(async () => {
  vi.useRealTimers()
  for (const h of handles.splice(0)) h()
  logs.length = 0
})
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
  expect(unhandledRejections).toEqual([])
})

function start(options: Parameters<typeof startWatchLoop<string>>[0]): WatchLoopHandle {
  const h = startWatchLoop<string>({ logger, ...options })
  handles.push(h)
  return h
}

describe('startWatchLoop', () => {
  it('passes each revision on to the next step and delivers states with their meta', async () => {
    const s = controllableStep()
    const watcher = recordingWatcher()
    start({ step: s.step, watcher, afterRevision: '5' })
    const c1 = await s.next()
    expect(c1.after).toBe('5')
    c1.resolve({ value: 'a', revision: '7', reset: false })
    const c2 = await s.next()
    expect(c2.after).toBe('7')
    expect(watcher.next).toHaveBeenLastCalledWith('a', { revision: '7', reset: false })
    c2.resolve({ value: 'b', revision: '2', reset: true })
    const c3 = await s.next()
    expect(c3.after).toBe('2')
    expect(watcher.next).toHaveBeenLastCalledWith('b', { revision: '2', reset: true })
    expect(s.inFlight()).toBe(1)
  })

  it('starts with undefined when no revision is given, and an empty step keeps the revision', async () => {
    const s = controllableStep()
    const watcher = recordingWatcher()
    start({ step: s.step, watcher, minEmptyStepMs: 0 })
    const c1 = await s.next()
    expect(c1.after).toBeUndefined()
    c1.resolve({ value: 'x', revision: '3', reset: false })
    const c2 = await s.next()
    c2.resolve(undefined)
    const c3 = await s.next()
    expect(c3.after).toBe('3')
    expect(watcher.next).toHaveBeenCalledTimes(1)
  })

  it('reports failures as GovernanceErrors, backs off with growing full-jitter delays, and recovers', async () => {
    vi.useFakeTimers()
    const s = controllableStep()
    const watcher = recordingWatcher()
    start({ step: s.step, watcher, backoff: { minDelayMs: 100, maxDelayMs: 1000 }, random: () => 1 })
    ;(await s.next()).reject(new ServerUnavailableError('down'))
    await vi.advanceTimersByTimeAsync(0) // flushes the rejection; no time passes
    expect(watcher.error).toHaveBeenCalledTimes(1)
    expect(watcher.error.mock.calls[0]![0]).toBeInstanceOf(ServerUnavailableError)
    // First pause: min(1000, 100 * 2^0) = 100 ms with random() = 1.
    await vi.advanceTimersByTimeAsync(99)
    expect(s.inFlight()).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    ;(await s.next()).reject(new Error('plain error'))
    await vi.advanceTimersByTimeAsync(0)
    expect(watcher.error).toHaveBeenCalledTimes(2)
    const wrapped = watcher.error.mock.calls[1]![0]
    expect(wrapped).toBeInstanceOf(GovernanceError)
    expect(wrapped.message).toContain('plain error')
    // Second pause: 200 ms.
    await vi.advanceTimersByTimeAsync(199)
    expect(s.inFlight()).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    ;(await s.next()).resolve({ value: 'ok', revision: '1', reset: false })
    ;(await s.next()).reject(new ServerUnavailableError('again'))
    // Success reset the backoff: 100 ms again.
    await vi.advanceTimersByTimeAsync(100)
    await s.next()
    expect(watcher.next).toHaveBeenCalledWith('ok', { revision: '1', reset: false })
  })

  it('pauses after an empty step that came back too fast, so it cannot spin', async () => {
    vi.useFakeTimers()
    let calls = 0
    const watcher = recordingWatcher()
    start({ step: async () => (calls++, undefined), watcher, backoff: { minDelayMs: 50, maxDelayMs: 50 }, random: () => 1 })
    await vi.advanceTimersByTimeAsync(0)
    expect(calls).toBe(1)
    await vi.advanceTimersByTimeAsync(500)
    expect(calls).toBeGreaterThanOrEqual(9)
    expect(calls).toBeLessThanOrEqual(12)
  })

  it('unsubscribe aborts the in-flight step and nothing is delivered afterwards', async () => {
    const s = controllableStep()
    const watcher = recordingWatcher()
    const stop = start({ step: s.step, watcher })
    const c = await s.next()
    stop()
    expect(c.signal.aborted).toBe(true)
    expect(c.signal.reason).toBeInstanceOf(ClientClosedError)
    c.resolve({ value: 'late', revision: '9', reset: false })
    await stop.done
    expect(watcher.next).not.toHaveBeenCalled()
    expect(watcher.error).not.toHaveBeenCalled()
    expect(s.inFlight()).toBe(0)
  })

  it('unsubscribe during a backoff pause ends the loop at once', async () => {
    const s = controllableStep()
    const watcher = recordingWatcher()
    const stop = start({ step: s.step, watcher, backoff: { minDelayMs: 60_000, maxDelayMs: 60_000 }, random: () => 1 })
    ;(await s.next()).reject(new ServerUnavailableError('down'))
    await vi.waitFor(() => expect(watcher.error).toHaveBeenCalled())
    stop()
    await stop.done // would take a minute if the pause were not aborted
  })

  it('a step that rejects after unsubscribe is not reported', async () => {
    const s = controllableStep()
    const watcher = recordingWatcher()
    const stop = start({ step: s.step, watcher })
    const c = await s.next()
    stop()
    c.reject(c.signal.reason)
    await stop.done
    expect(watcher.error).not.toHaveBeenCalled()
  })

  it('a watcher that throws or rejects is logged and the loop goes on', async () => {
    const s = controllableStep()
    const watcher = {
      next: vi.fn((v: string) => {
        if (v === 'sync') throw new Error('boom')
        if (v === 'async') return Promise.reject(new Error('async boom')) as unknown as void
      }),
      error: vi.fn(() => {
        throw new Error('error boom')
      }),
    }
    start({ step: s.step, watcher, name: 'test watch', backoff: { minDelayMs: 1, maxDelayMs: 1 } })
    ;(await s.next()).resolve({ value: 'sync', revision: '1', reset: false })
    ;(await s.next()).resolve({ value: 'async', revision: '2', reset: false })
    ;(await s.next()).reject(new ServerUnavailableError('x'))
    const c = await s.next()
    expect(c.after).toBe('2')
    await vi.waitFor(() => expect(logs.map((l) => l.message)).toEqual(['test watch: watcher.next threw', 'test watch: watcher.next threw', 'test watch: watcher.error threw']))
  })

  it('reports a step that gives a revision that is not a decimal string', async () => {
    const s = controllableStep()
    const watcher = recordingWatcher()
    start({ step: s.step, watcher, backoff: { minDelayMs: 1, maxDelayMs: 1 } })
    ;(await s.next()).resolve({ value: 'v', revision: 'abc', reset: false })
    const c = await s.next()
    expect(c.after).toBeUndefined()
    expect(watcher.next).not.toHaveBeenCalled()
    expect(watcher.error.mock.calls[0]![0].message).toContain('not a decimal string')
  })

  it('rejects missing arguments', () => {
    expect(() => startWatchLoop({ step: undefined as never, watcher: recordingWatcher() })).toThrow(GovernanceError)
    expect(() => startWatchLoop({ step: async () => undefined, watcher: {} as never })).toThrow(/watcher with next\(\) and error\(\)/)
  })
})
