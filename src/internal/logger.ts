/** The logger the client writes to: console-compatible, so `console` or pino fit. */
import { failOption } from './options-kit.js'

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

const noop = (): void => {}

/** Discards everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop }

/** Warnings and errors to stderr, prefixed; the default, since background failures must be seen. */
export function createConsoleLogger(prefix = '[governance-client]'): Logger {
  const write =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      const extra = fields && Object.keys(fields).length > 0 ? ` ${safeJson(fields)}` : ''
      process.stderr.write(`${prefix} ${level} ${message}${extra}\n`)
    }
  return { debug: noop, info: noop, warn: write('warn'), error: write('error') }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? v.message : typeof v === 'bigint' ? v.toString() : v))
  } catch {
    return '[unserialisable]'
  }
}

/** The call shape of pino and bunyan: `warn(fields, message)`. */
export interface FieldsFirstLogger {
  debug(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const
/** Loggers fieldsFirstLogger made: never adapted twice. */
const adaptedLoggers = new WeakSet<object>()

/**
 * Wraps a pino- or bunyan-style logger so that the library's `warn(message, fields)` calls
 * reach it as `warn(fields, message)`: called the library's way, pino keeps the message and
 * drops every field. `GovernanceClient` applies it on its own to loggers it recognises
 * (see isFieldsFirstLogger); call it yourself for a wrapper it cannot recognise.
 *
 * @example
 * new GovernanceClient({ server, logger: fieldsFirstLogger(myPinoWrapper) })
 */
export function fieldsFirstLogger(logger: FieldsFirstLogger): Logger {
  const adapted = {} as Record<(typeof LEVELS)[number], Logger['warn']>
  for (const level of LEVELS) {
    adapted[level] = (message, fields) => logger[level](fields === undefined ? {} : serialisable(fields), message)
  }
  adaptedLoggers.add(adapted)
  return adapted
}

/**
 * pino (`bindings()` and `child()`) and bunyan (`fields` and `streams`) are recognised by
 * their own members; winston, console and the library's own loggers are not.
 */
export function isFieldsFirstLogger(logger: object): boolean {
  const l = logger as Record<string, unknown>
  if (adaptedLoggers.has(logger) || typeof l['child'] !== 'function') return false
  const pino = typeof l['bindings'] === 'function' && typeof l['levels'] === 'object'
  const bunyan = typeof l['fields'] === 'object' && Array.isArray(l['streams'])
  return pino || bunyan
}

/**
 * A `logger` option as users give it to the client or a backend: a Logger (pino and bunyan
 * adapted, see isFieldsFirstLogger), `false` for silence, or undefined (the caller's default).
 * Anything else is refused now, naming the option, instead of failing at the first warning.
 */
export function resolveLoggerOption(value: unknown, option = 'logger'): Logger | undefined {
  if (value === undefined) return undefined
  if (value === false) return silentLogger
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) {
    failOption(option, 'must be an object with debug, info, warn and error methods, or false', value)
  }
  const candidate = value as Record<string, unknown>
  for (const level of LEVELS) {
    if (typeof candidate[level] !== 'function') failOption(`${option}.${level}`, 'must be a function', candidate[level])
  }
  // The library calls warn(message, fields); pino and bunyan take (fields, message).
  return isFieldsFirstLogger(value) ? fieldsFirstLogger(value as unknown as FieldsFirstLogger) : (value as Logger)
}

/** Errors as pino's `err` convention expects them (its serialiser reads `err`). */
function serialisable(fields: Record<string, unknown>): Record<string, unknown> {
  if (!(fields['error'] instanceof Error) || 'err' in fields) return fields
  const { error, ...rest } = fields
  return { ...rest, err: error }
}

const REPLACEABLE: unique symbol = Symbol('governance-client.replaceable-logger')
type Replaceable = Logger & { [REPLACEABLE]?: { target: Logger } }

/**
 * A backend's default logger, which `Backend.useLogger()` can point elsewhere later: the
 * backend hands this one object to its transports and helpers when it is built, before any
 * client exists.
 */
export function replaceableLogger(fallback: Logger): Logger {
  const box = { target: fallback }
  const logger: Replaceable = {
    debug: (message, fields) => box.target.debug(message, fields),
    info: (message, fields) => box.target.info(message, fields),
    warn: (message, fields) => box.target.warn(message, fields),
    error: (message, fields) => box.target.error(message, fields),
  }
  logger[REPLACEABLE] = box
  return logger
}

/** Points a replaceableLogger at `next`; a logger the user chose (any other) is left as it is. */
export function replaceLogger(logger: Logger, next: Logger): void {
  const box = (logger as Replaceable)[REPLACEABLE]
  if (box !== undefined) box.target = next
}
