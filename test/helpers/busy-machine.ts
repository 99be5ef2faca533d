/**
 * For tests that must hold on a busy, shared CI machine: how late this process's timers
 * actually ran (so a timing bound grants measured lateness instead of a guessed one), and
 * restarting a server on the port it had.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'

export interface TimerLateness {
  /** The longest delay (ms) a timer of this process has had beyond its due time since the start. */
  ms(): number
  stop(): void
}

/**
 * Starts measuring timer lateness (event-loop delay). A bound such as "within the
 * interval plus one round trip" adds `ms()`: on a quiet machine that is a few ms and the
 * bound stays tight; when the process was starved of CPU, the starvation is excused, not
 * a slow code path.
 */
export function timerLateness(): TimerLateness {
  const resolutionMs = 10
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs })
  histogram.enable()
  // The histogram records whole intervals between its ticks; what exceeds the resolution is lateness.
  const ms = (): number => (histogram.count === 0 ? 0 : Math.max(0, histogram.max / 1e6 - resolutionMs))
  return { ms, stop: () => histogram.disable() }
}

function isAddressInUse(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') return true
  }
  return false
}

/**
 * Runs `start` (a server listening on a port it had before) and retries it briefly while the
 * port is in use: in the moment it was free, another process on the machine may hold it
 * as an ephemeral port for a while. Any other error, or a port still taken after
 * `timeoutMs`, is thrown.
 */
export async function onSamePort<T>(start: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await start()
    } catch (error) {
      if (!isAddressInUse(error) || Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}
