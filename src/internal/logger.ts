/** The logger the client writes to: console-compatible, so `console` or pino fit. */
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
