/**
 * The client's logger as it reaches the user's: repeated lines are rate-limited and errors
 * in fields lose their stacks, except at debug. An outage makes every loop log the same
 * failure again and again; with `logger: console` that was hundreds of lines, each with a
 * stack trace. The user's logger itself is left as it is (logger.ts adapts its shape).
 */
import type { Logger } from './logger.js'

export interface LogLimitOptions {
  /** Lines alike (same level, same text but for numbers) allowed per window. Default 3. */
  readonly burst?: number
  /** Default 30,000 ms. */
  readonly windowMs?: number
  /** Distinct lines tracked; the oldest is forgotten beyond it. Default 500. */
  readonly maxKeys?: number
  readonly now?: () => number
}

interface Window {
  start: number
  passed: number
  suppressed: number
}

type Level = 'info' | 'warn' | 'error'

/** Per kind of line (level + text with numbers blanked), how many passed in the current window. */
class RepeatWindows {
  readonly #windows = new Map<string, Window>()
  constructor(
    private readonly burst: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {}

  /** Whether this line may pass, and how many alike were held back in the window before. */
  admit(level: Level, message: string): { pass: boolean; suppressed: number } {
    const key = `${level} ${message.replace(/\d+/g, '#')}`
    const t = this.now()
    let w = this.#windows.get(key)
    let suppressed = 0
    if (w === undefined || t - w.start >= this.windowMs) {
      suppressed = w?.suppressed ?? 0
      this.#windows.delete(key)
      if (this.#windows.size >= this.maxKeys) this.#windows.delete(this.#windows.keys().next().value as string)
      w = { start: t, passed: 0, suppressed: 0 }
      this.#windows.set(key, w)
    }
    if (w.passed >= this.burst) {
      w.suppressed++
      return { pass: false, suppressed: 0 }
    }
    w.passed++
    return { pass: true, suppressed }
  }
}

export function limitLogger(logger: Logger, options: LogLimitOptions = {}): Logger {
  const windowMs = options.windowMs ?? 30_000
  const windows = new RepeatWindows(options.burst ?? 3, windowMs, options.maxKeys ?? 500, options.now ?? Date.now)
  const debugOn = debugEnabled(logger)

  const write = (level: Level) => (message: string, fields?: Record<string, unknown>): void => {
    const { pass, suppressed } = windows.admit(level, message)
    if (!pass) return
    const { summary, hadErrors } = withoutStacks(fields)
    const text = suppressed > 0 ? `${message} (${suppressed} more like it in the previous ${Math.round(windowMs / 1000)} s not shown)` : message
    logger[level](text, summary)
    if (hadErrors && debugOn) logger.debug(`${message} (stack)`, fields)
  }

  return {
    debug: (message, fields) => {
      if (debugOn) logger.debug(message, fields)
    },
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  }
}

/**
 * console has no level filter: its debug() always prints. The client's debug lines (and the
 * stacks behind warnings) reach it only with NODE_DEBUG=governance, Node's own convention.
 */
function debugEnabled(logger: Logger): boolean {
  if (logger !== (globalThis.console as unknown)) return true
  return /(^|[\s,])governance([\s,]|$)/.test(process.env['NODE_DEBUG'] ?? '')
}

/** Fields with every Error replaced by `Name: message [code]`; undefined stays undefined. */
function withoutStacks(fields: Record<string, unknown> | undefined): { summary: Record<string, unknown> | undefined; hadErrors: boolean } {
  if (fields === undefined) return { summary: undefined, hadErrors: false }
  let hadErrors = false
  const summary: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (value instanceof Error) {
      hadErrors = true
      summary[key] = summarise(value)
    } else {
      summary[key] = value
    }
  }
  return { summary, hadErrors }
}

function summarise(error: Error): string {
  const code = (error as { code?: unknown }).code
  const cause = error.cause instanceof Error && !error.message.includes(error.cause.message) ? ` (cause: ${error.cause.message})` : ''
  return `${error.name}: ${error.message}${typeof code === 'string' ? ` [${code}]` : ''}${cause}`
}
