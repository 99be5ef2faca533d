/**
 * A logger whose target can be replaced after creation: backends hand it to their
 * transports at construction, and `Backend.useLogger` (called by the client once) points
 * it at the client's logger when the backend's own options named none.
 */
import type { Logger } from './logger.js'

export class SwappableLogger implements Logger {
  constructor(
    private target: Logger,
    /** False when the user chose a logger for the backend: the client's must not replace it. */
    private readonly replaceable: boolean,
  ) {}

  /** Backend.useLogger: takes the client's logger unless the user picked one. */
  use(logger: Logger): void {
    if (this.replaceable) this.target = logger
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.target.debug(message, fields)
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.target.info(message, fields)
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.target.warn(message, fields)
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.target.error(message, fields)
  }
}
