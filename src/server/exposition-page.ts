/**
 * `GET /metrics`: everything the monitor center holds, in the Prometheus text format, so a
 * Prometheus can scrape it. Every series gets `service` and `instance` labels (a point's own
 * labels of those names become `exported_service` / `exported_instance`, as Prometheus
 * does). Values are the store's running totals: counters and histograms cumulative since
 * the instance's first batch, gauges the last value.
 */
import { EXPOSITION_CONTENT_TYPE, finishExposition, writeHeader, writeHistogram, writeSample } from '../metrics/exposition.js'
import type { MetricKind, MetricPoint } from '../types.js'
import type { ServerState } from './handler.js'
import type { Handler } from './protocol/request.js'
import type { Answer } from './protocol/answer.js'

interface Family {
  readonly kind: MetricKind
  readonly help: string | undefined
  readonly lines: string[]
}

export function expositionHandler(state: ServerState): Handler {
  return (): Answer => ({ status: 200, text: renderStore(state), contentType: EXPOSITION_CONTENT_TYPE })
}

export function renderStore(state: ServerState): string {
  const families = new Map<string, Family>()
  for (const service of state.metrics.services()) {
    const view = state.metrics.query(service)
    if (view === undefined) continue
    for (const [instance, { points }] of Object.entries(view.instances)) {
      for (const point of points) addPoint(families, point, service, instance)
    }
  }
  const out: string[] = []
  for (const [name, family] of [...families].sort(([a], [b]) => (a < b ? -1 : 1))) {
    writeHeader(out, name, family.kind, family.help)
    out.push(...family.lines)
  }
  return finishExposition(out)
}

/** One name, one kind: a point whose kind differs from the family's first is left out (the page must parse). */
function addPoint(families: Map<string, Family>, point: MetricPoint, service: string, instance: string): void {
  let family = families.get(point.name)
  if (family === undefined) families.set(point.name, (family = { kind: point.kind, help: point.help, lines: [] }))
  if (family.kind !== point.kind) return
  const labels = withIdentity(point.labels, service, instance)
  if (point.kind === 'histogram') writeHistogram(family.lines, point.name, labels, point.buckets, point.counts, point.sum)
  else writeSample(family.lines, point.name, labels, point.value)
}

function withIdentity(labels: Readonly<Record<string, string>>, service: string, instance: string): Record<string, string> {
  const out: Record<string, string> = { service, instance }
  for (const [k, v] of Object.entries(labels)) out[k === 'service' || k === 'instance' ? `exported_${k}` : k] = v
  return out
}
