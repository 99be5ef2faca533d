/**
 * Writers for the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Shared by render()
 * and the Pushgateway sink, so both emit exactly the same text.
 */
import type { MetricKind } from '../types.js'
import type { LabelSet } from './cells.js'

/** Content-Type of the text format, for a scrape endpoint or a Pushgateway push. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

export function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** Go's ParseFloat spelling of the special values; plain JS text for the rest. */
export function formatValue(value: number): string {
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  if (Number.isNaN(value)) return 'NaN'
  return String(value)
}

function formatLabels(labels: LabelSet, extraName?: string, extraValue?: string): string {
  let text = ''
  for (const k in labels) text += `${text === '' ? '' : ','}${k}="${escapeLabelValue(labels[k] as string)}"`
  if (extraName !== undefined) text += `${text === '' ? '' : ','}${extraName}="${extraValue ?? ''}"`
  return text === '' ? '' : `{${text}}`
}

export function writeHeader(out: string[], name: string, kind: MetricKind, help: string | undefined): void {
  if (help !== undefined) out.push(`# HELP ${name} ${escapeHelp(help)}`)
  out.push(`# TYPE ${name} ${kind}`)
}

export function writeSample(out: string[], name: string, labels: LabelSet, value: number): void {
  out.push(`${name}${formatLabels(labels)} ${formatValue(value)}`)
}

/**
 * One histogram series: `counts` are per bucket (not cumulative, last = +Inf); the
 * text format wants them cumulative, ending with le="+Inf" equal to _count.
 */
export function writeHistogram(
  out: string[],
  name: string,
  labels: LabelSet,
  buckets: readonly number[],
  counts: ArrayLike<number>,
  sum: number,
): void {
  let cumulative = 0
  for (let i = 0; i < buckets.length; i++) {
    cumulative += counts[i] as number
    out.push(`${name}_bucket${formatLabels(labels, 'le', formatValue(buckets[i] as number))} ${formatValue(cumulative)}`)
  }
  cumulative += counts[buckets.length] as number
  out.push(`${name}_bucket${formatLabels(labels, 'le', '+Inf')} ${formatValue(cumulative)}`)
  out.push(`${name}_sum${formatLabels(labels)} ${formatValue(sum)}`)
  out.push(`${name}_count${formatLabels(labels)} ${formatValue(cumulative)}`)
}

/** Joins lines into a document: the format wants a final line feed. */
export function finishExposition(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}
