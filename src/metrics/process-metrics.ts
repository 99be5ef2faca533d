/**
 * Built-in process metrics, sampled when a window ends (and on render): event-loop delay,
 * heap, RSS and CPU. Names follow prom-client's defaults where the meaning is the same,
 * so dashboards carry over; durations are milliseconds like the rest of this package.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { InstrumentRegistry } from './registry.js'

export const PROCESS_METRIC_NAMES = [
  'process_cpu_user_seconds_total',
  'process_cpu_system_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_heap_size_total_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_eventloop_delay_p50_ms',
  'nodejs_eventloop_delay_p99_ms',
  'nodejs_eventloop_delay_max_ms',
  'nodejs_eventloop_delay_mean_ms',
] as const

/** Installs the instruments and their sampling hook; returns the function that stops sampling. */
export function installProcessMetrics(registry: InstrumentRegistry): () => void {
  // Resolution 20 ms: fine enough for stalls that matter, cheap enough to leave on.
  const delay = monitorEventLoopDelay({ resolution: 20 })
  delay.enable()
  const counter = (name: string, help: string) => registry.counter(name, { help }).bind()
  const gauge = (name: string, help: string) => registry.gauge(name, { help }).bind()
  const cpuUser = counter('process_cpu_user_seconds_total', 'User CPU time spent, in seconds.')
  const cpuSystem = counter('process_cpu_system_seconds_total', 'System CPU time spent, in seconds.')
  const rss = gauge('process_resident_memory_bytes', 'Resident memory size in bytes.')
  const heapUsed = gauge('nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.')
  const heapTotal = gauge('nodejs_heap_size_total_bytes', 'V8 heap reserved, in bytes.')
  const external = gauge('nodejs_external_memory_bytes', 'Memory of C++ objects bound to JS objects, in bytes.')
  const p50 = gauge('nodejs_eventloop_delay_p50_ms', 'Median event-loop delay over the last window, in ms.')
  const p99 = gauge('nodejs_eventloop_delay_p99_ms', '99th percentile event-loop delay over the last window, in ms.')
  const max = gauge('nodejs_eventloop_delay_max_ms', 'Largest event-loop delay over the last window, in ms.')
  const mean = gauge('nodejs_eventloop_delay_mean_ms', 'Mean event-loop delay over the last window, in ms.')
  let lastCpu = process.cpuUsage()
  registry.addHook((reason) => {
    const cpu = process.cpuUsage()
    cpuUser.inc(Math.max(0, cpu.user - lastCpu.user) / 1e6)
    cpuSystem.inc(Math.max(0, cpu.system - lastCpu.system) / 1e6)
    lastCpu = cpu
    const memory = process.memoryUsage()
    rss.set(memory.rss)
    heapUsed.set(memory.heapUsed)
    heapTotal.set(memory.heapTotal)
    external.set(memory.external)
    if (delay.count > 0) {
      p50.set(delay.percentile(50) / 1e6)
      p99.set(delay.percentile(99) / 1e6)
      max.set(delay.max / 1e6)
      mean.set(delay.mean / 1e6)
    }
    // A render only peeks; the window is the reader's.
    if (reason === 'collect') delay.reset()
  })
  return () => delay.disable()
}
