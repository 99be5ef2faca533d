/** Metrics of one service as charts over time, from GET /v1/metrics/{service}/history. */
import uPlot from 'uplot'
import { ApiError, api, enc, sleep } from '../api.js'
import { h, replace } from '../dom.js'

type Values = (number | null)[]
interface Series {
  name: string
  labels: Record<string, string>
  kind: 'counter' | 'gauge' | 'histogram'
  rate?: Values
  values?: Values
  quantiles?: Record<string, Values>
}
interface History {
  resolutionMs: number
  times: number[]
  series: Series[]
}

const RANGES: [string, number][] = [
  ['1 min', 60_000],
  ['5 min', 300_000],
  ['15 min', 900_000],
  ['1 h', 3_600_000],
]
const COMPACT = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 })
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563']

/** Request and error counters and latency histograms first: what a person looks for. */
const rank = (name: string): number => (/request/.test(name) ? 0 : /error|fail/.test(name) ? 1 : /duration|latency/.test(name) ? 2 : 3)

export function metricsView(root: HTMLElement, signal: AbortSignal, service: string): void {
  let rangeMs = 900_000
  const charts = h('div', { class: 'charts', id: 'charts' })
  const note = h('p', { class: 'muted', id: 'metrics-note' }, 'loading…')
  const select = h('select', { id: 'range', onchange: () => ((rangeMs = Number(select.value)), void refresh()) }, ...RANGES.map(([label, ms]) => h('option', { value: ms, selected: ms === rangeMs }, label)))
  replace(root, h('h1', {}, h('a', { href: `#/service/${enc(service)}` }, service), ' / metrics'), h('div', { class: 'row' }, 'range ', select), note, charts)
  const plots = new Map<string, uPlot>()
  signal.addEventListener('abort', () => plots.forEach((p) => p.destroy()))

  const refresh = async (): Promise<number> => {
    try {
      const history = await api<History>('GET', `/v1/metrics/${enc(service)}/history?from=-${rangeMs}`, undefined, signal)
      note.textContent = `${history.series.length} series · ${history.resolutionMs / 1000} s resolution · updated ${new Date().toLocaleTimeString()}`
      draw(charts, plots, history)
      return history.resolutionMs
    } catch (error) {
      if (!signal.aborted) note.textContent = error instanceof ApiError && error.status === 404 ? 'No metrics received for this service yet.' : `cannot load: ${(error as Error).message}`
      return 10_000
    }
  }
  // Data changes once per slot, so asking more often than the resolution would gain nothing.
  void (async () => {
    while (!signal.aborted) await sleep(Math.max(1000, await refresh()), signal)
  })()
}

interface ChartSpec {
  id: string
  title: string
  lines: { label: string; values: Values }[]
}

function chartSpecs(history: History): ChartSpec[] {
  const byName = new Map<string, Series[]>()
  for (const s of history.series) byName.set(s.name, [...(byName.get(s.name) ?? []), s])
  const specs: ChartSpec[] = []
  const names = [...byName.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1))
  for (const name of names) {
    const group = byName.get(name)!
    const label = (s: Series): string => Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(',') || 'all'
    const kind = group[0]!.kind
    if (kind === 'histogram') {
      specs.push({ id: `${name}:q`, title: `${name} quantiles`, lines: group.flatMap((s) => Object.entries(s.quantiles ?? {}).map(([q, values]) => ({ label: `${q} ${label(s)}`, values }))) })
      specs.push({ id: `${name}:r`, title: `${name} rate /s`, lines: group.map((s) => ({ label: label(s), values: s.rate ?? [] })) })
    } else {
      specs.push({ id: name, title: kind === 'counter' ? `${name} rate /s` : name, lines: group.map((s) => ({ label: label(s), values: (kind === 'counter' ? s.rate : s.values) ?? [] })) })
    }
  }
  return specs
}

function draw(root: HTMLElement, plots: Map<string, uPlot>, history: History): void {
  const xs = history.times.map((t) => t / 1000)
  const specs = chartSpecs(history)
  const width = Math.max(320, Math.min(560, root.clientWidth - 16))
  for (const spec of specs) {
    const data = [xs, ...spec.lines.map((l) => l.values)] as uPlot.AlignedData
    const points = spec.lines.reduce((n, l) => n + l.values.filter((v) => v !== null).length, 0)
    const existing = plots.get(spec.id)
    if (existing && existing.series.length === spec.lines.length + 1) {
      existing.setData(data)
      existing.root.parentElement!.dataset['points'] = String(points)
      continue
    }
    existing?.root.parentElement?.remove()
    existing?.destroy()
    const box = h('figure', { class: 'chart', 'data-chart': spec.id, 'data-points': points })
    root.append(box)
    const series: uPlot.Series[] = [{}, ...spec.lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length]!, width: 1.5, spanGaps: true }))]
    plots.set(spec.id, new uPlot({ title: spec.title, width, height: 200, series, scales: { x: { time: true } }, axes: [{}, { size: 56, values: (_u: uPlot, ticks: number[]) => ticks.map((t) => COMPACT.format(t)) }] }, data, box))
  }
}
