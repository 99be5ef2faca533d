/**
 * Built-in process metrics, sampled when a window ends (and on render): event-loop delay,
 * heap, RSS and CPU. Base units are seconds and bytes (Prometheus conventions). Every
 * name carries the `governance_` prefix: prom-client's collectDefaultMetrics uses the
 * unprefixed names, and one page serving both must not hold two HELP lines for a name.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { InstrumentRegistry } from './registry.js'

export const PROCESS_METRIC_NAMES = [
  'governance_process_cpu_user_seconds_total',
  'governance_process_cpu_system_seconds_total',
  'governance_process_resident_memory_bytes',
  'governance_nodejs_heap_size_used_bytes',
  'governance_nodejs_heap_size_total_bytes',
  'governance_nodejs_external_memory_bytes',
  'governance_nodejs_eventloop_delay_p50_seconds',
  'governance_nodejs_eventloop_delay_p99_seconds',
  'governance_nodejs_eventloop_delay_max_seconds',
  'governance_nodejs_eventloop_delay_mean_seconds',
] as const

/** Installs the instruments and their sampling hook; returns the function that stops sampling. */
export function installProcessMetrics(registry: InstrumentRegistry): () => void {
  // Resolution 20 ms: fine enough for stalls that matter, cheap enough to leave on.
  const delay = monitorEventLoopDelay({ resolution: 20 })
  delay.enable()
  const counter = (name: string, help: string) => registry.counter(name, { help }).bind()
  const gauge = (name: string, help: string) => registry.gauge(name, { help }).bind()
  const cpuUser = counter('governance_process_cpu_user_seconds_total', 'User CPU time spent, in seconds.')
  const cpuSystem = counter('governance_process_cpu_system_seconds_total', 'System CPU time spent, in seconds.')
  const rss = gauge('governance_process_resident_memory_bytes', 'Resident memory size in bytes.')
  const heapUsed = gauge('governance_nodejs_heap_size_used_bytes', 'V8 heap in use, in bytes.')
  const heapTotal = gauge('governance_nodejs_heap_size_total_bytes', 'V8 heap reserved, in bytes.')
  const external = gauge('governance_nodejs_external_memory_bytes', 'Memory of C++ objects bound to JS objects, in bytes.')
  const p50 = gauge('governance_nodejs_eventloop_delay_p50_seconds', 'Median event-loop delay over the last window, in seconds.')
  const p99 = gauge('governance_nodejs_eventloop_delay_p99_seconds', '99th percentile event-loop delay over the last window, in seconds.')
  const max = gauge('governance_nodejs_eventloop_delay_max_seconds', 'Largest event-loop delay over the last window, in seconds.')
  const mean = gauge('governance_nodejs_eventloop_delay_mean_seconds', 'Mean event-loop delay over the last window, in seconds.')
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
      p50.set(delay.percentile(50) / 1e9)
      p99.set(delay.percentile(99) / 1e9)
      max.set(delay.max / 1e9)
      mean.set(delay.mean / 1e9)
    }
    // A render only peeks; the window is the reader's.
    if (reason === 'collect') delay.reset()
  })
  return () => delay.disable()
}
