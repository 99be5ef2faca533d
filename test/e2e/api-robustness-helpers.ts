/**
 * Shared checks of the api-robustness tests: an outcome that must be a typed rejection (never
 * a crash, a hang or a resolve), process-level failure capture, and timer tracking so that a
 * client that leaves a timer behind (unref'd ones included) is caught.
 */
import { afterAll, beforeAll, expect } from 'vitest'
import { GovernanceError, InvalidArgumentError, type Logger } from '../../src/index.js'

/** How long any single bad call may take before it counts as a hang. */
export const HANG_MS = 2_000

type ErrorClass = abstract new (...args: never[]) => Error

export interface Outcome {
  readonly error: unknown
  /** true: thrown synchronously; false: a rejected promise. */
  readonly sync: boolean
  readonly ms: number
}

/**
 * Runs `call` and returns how it failed. Fails the test when it returns normally, resolves,
 * or neither settles nor throws within `hangMs`.
 */
export async function failureOf(label: string, call: () => unknown, hangMs = HANG_MS): Promise<Outcome> {
  const started = performance.now()
  let result: unknown
  try {
    result = call()
  } catch (error) {
    return { error, sync: true, ms: performance.now() - started }
  }
  if (!isThenable(result)) throw new Error(`${label}: returned ${String(result)} instead of failing`)
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<'hang'>((resolve) => (timer = setTimeout(() => resolve('hang'), hangMs)))
  try {
    const settled = await Promise.race([
      Promise.resolve(result).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      hang,
    ])
    if (settled === 'hang') throw new Error(`${label}: did not settle within ${hangMs} ms`)
    if (!('error' in settled)) throw new Error(`${label}: resolved (${describeShort(settled.value)}) instead of rejecting`)
    return { error: settled.error, sync: false, ms: performance.now() - started }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * The call fails with `cls` (InvalidArgumentError by default) and a message matching `field`.
 * `mode` 'async' demands a rejection (a Promise-returning method must not throw), 'sync' a throw.
 */
export async function expectFailure(
  label: string,
  call: () => unknown,
  field: RegExp,
  { mode = 'async', cls = InvalidArgumentError }: { mode?: 'async' | 'sync' | 'either'; cls?: ErrorClass } = {},
): Promise<Error> {
  const outcome = await failureOf(label, call)
  const error = outcome.error
  const shown = error instanceof Error ? `${error.name}: ${error.message}` : describeShort(error)
  expect(error instanceof cls, `${label}: expected ${cls.name}, got ${shown}`).toBe(true)
  expect(error instanceof GovernanceError, `${label}: not a GovernanceError: ${shown}`).toBe(true)
  const message = (error as Error).message
  expect(message, `${label}: the message should name the field`).toMatch(field)
  // A 5,000-character value must not be echoed whole into logs.
  expect(message.length, `${label}: message too long (${message.length})`).toBeLessThan(1_000)
  if (mode === 'async') expect(outcome.sync, `${label}: threw synchronously; a Promise-returning method must reject`).toBe(false)
  if (mode === 'sync') expect(outcome.sync, `${label}: should throw synchronously`).toBe(true)
  return error as Error
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
}

export function describeShort(value: unknown): string {
  try {
    const text = value instanceof Error ? `${value.name}: ${value.message}` : (JSON.stringify(value) ?? String(value))
    return text.length > 200 ? `${text.slice(0, 200)}...` : text
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** A logger that keeps its lines, for "logged once" checks. */
export function recordingLogger(): Logger & { lines: { level: string; message: string; fields: unknown }[] } {
  const lines: { level: string; message: string; fields: unknown }[] = []
  const log = (level: string) => (message: string, fields?: unknown) => void lines.push({ level, message, fields })
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

/**
 * Collects 'unhandledRejection' and 'uncaughtException' for the whole file and fails in
 * afterAll if any arrived. Returns the live list, so a test can check it at its own end too.
 */
export function captureProcessFailures(): unknown[] {
  const failures: unknown[] = []
  const onRejection = (reason: unknown): void => void failures.push(['unhandledRejection', describeShort(reason), reason])
  const onException = (error: unknown): void => void failures.push(['uncaughtException', describeShort(error), error])
  beforeAll(() => {
    process.on('unhandledRejection', onRejection)
    process.on('uncaughtException', onException)
  })
  afterAll(async () => {
    // Rejections are reported after a microtask turn; give late ones a chance to show up.
    await new Promise((resolve) => setImmediate(resolve))
    process.off('unhandledRejection', onRejection)
    process.off('uncaughtException', onException)
    expect(failures.map((f) => (f as unknown[]).slice(0, 2))).toEqual([])
  })
  return failures
}

type Tracked = NodeJS.Timeout & { _destroyed?: boolean }

/**
 * Tracks every setTimeout/setInterval made while `track` runs (unref'd ones too, which
 * process.getActiveResourcesInfo() omits) and returns those still alive afterwards, with
 * the stack that made each one.
 */
export class TimerTracker {
  readonly #live = new Map<Tracked, string>()
  #restore: (() => void) | undefined

  start(): void {
    const realTimeout = globalThis.setTimeout
    const realInterval = globalThis.setInterval
    const live = this.#live
    const wrap = <F extends typeof setTimeout | typeof setInterval>(real: F): F =>
      ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
        const t = (real as (...a: unknown[]) => Tracked)(fn, ms, ...args)
        live.set(t, new Error('timer created').stack ?? '')
        return t
      }) as unknown as F
    globalThis.setTimeout = wrap(realTimeout)
    globalThis.setInterval = wrap(realInterval)
    this.#restore = () => {
      globalThis.setTimeout = realTimeout
      globalThis.setInterval = realInterval
    }
  }

  /** Stops tracking; the timers made meanwhile that are still pending, as creation stacks. */
  stop(): string[] {
    this.#restore?.()
    this.#restore = undefined
    const left: string[] = []
    for (const [t, stack] of this.#live) {
      // undici's process-wide tick (one unref'd timer shared by every request) stops on its
      // own at its next tick once no request is pending; it is no timer of a client.
      if (t._destroyed || /at refreshTimeout \(.*undici/.test(stack)) continue
      left.push(stack.split('\n').slice(1, 6).join('\n'))
    }
    this.#live.clear()
    return left
  }
}

/** Resolves on the next turn of the event loop, after pending I/O callbacks. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
