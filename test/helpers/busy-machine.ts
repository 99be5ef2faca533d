/**
 * For tests that must hold on a busy, shared CI machine: how late this process's timers
 * actually ran (so a timing bound grants measured lateness instead of a guessed one).
 * (A server that restarts goes behind a TCP proxy that keeps its port: tcp-proxy.ts.)
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
