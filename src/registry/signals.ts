/**
 * Opt-in shutdown on SIGTERM/SIGINT: run the client's close() once, then let the process end
 * as it would have without us. Installing a signal listener cancels Node's default action
 * (exit), so after close() the handlers are removed and the signal is raised again, unless
 * the application has listeners of its own, which then decide. A second signal while
 * closing ends the process at once, as an impatient operator expects.
 */
import type { Logger } from '../internal/logger.js'

export const HANDLED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']

/** Installs the handlers; returns an uninstaller (idempotent). */
export function installSignalHandlers(onSignal: (signal: NodeJS.Signals) => Promise<void>, logger: Logger): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>()
  let running = false

  const uninstall = (): void => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler)
    handlers.clear()
  }

  const reRaise = (signal: NodeJS.Signals): void => {
    uninstall()
    if (process.listenerCount(signal) > 0) return
    process.kill(process.pid, signal)
  }

  for (const signal of HANDLED_SIGNALS) {
    const handler = (): void => {
      if (running) {
        logger.warn(`${signal} received again while closing; exiting now`)
        reRaise(signal)
        return
      }
      running = true
      logger.info(`${signal} received; closing the governance client`)
      let closing: Promise<void>
      try {
        closing = Promise.resolve(onSignal(signal))
      } catch (error) {
        closing = Promise.reject(error)
      }
      closing
        .catch((error: unknown) => logger.error(`closing on ${signal} failed`, { error }))
        .finally(() => reRaise(signal))
    }
    handlers.set(signal, handler)
    process.on(signal, handler)
  }
  return uninstall
}
