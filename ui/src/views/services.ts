/** The overview: every service with its instance counts by status and zone, live. */
import { follow } from '../api.js'
import { h, replace } from '../dom.js'

interface ServiceRow {
  name: string
  instances: number
  byStatus?: Record<string, number>
  byZone?: Record<string, number>
}

const STATUSES = ['UP', 'STARTING', 'DOWN', 'OUT_OF_SERVICE']

export function servicesView(root: HTMLElement, signal: AbortSignal): void {
  const body = h('tbody')
  const table = h(
    'table',
    { class: 'grid', id: 'services' },
    h('thead', {}, h('tr', {}, h('th', {}, 'service'), h('th', {}, 'instances'), ...STATUSES.map((s) => h('th', {}, s)), h('th', {}, 'zones'), h('th', {}, ''))),
    body,
  )
  const status = h('p', { class: 'muted' }, 'loading…')
  replace(root, h('h1', {}, 'Services'), status, table)
  void follow<{ services: ServiceRow[]; index: string }>(
    '/v1/services',
    signal,
    (answer) => {
      status.textContent = answer.services.length === 0 ? 'No service has registered instances yet.' : `${answer.services.length} services · index ${answer.index}`
      replace(body, ...answer.services.map(row))
    },
    (error) => (status.textContent = `cannot load services: ${(error as Error).message}`),
  )
}

function row(s: ServiceRow): HTMLElement {
  const zones = Object.entries(s.byZone ?? {})
    .map(([zone, n]) => `${zone || '(none)'}: ${n}`)
    .join(', ')
  return h(
    'tr',
    { 'data-service': s.name },
    h('td', {}, h('a', { href: `#/service/${encodeURIComponent(s.name)}` }, s.name)),
    h('td', { class: 'num', 'data-count': 'total' }, s.instances),
    ...STATUSES.map((st) => h('td', { class: `num status-${st}`, 'data-count': st }, s.byStatus?.[st] ?? 0)),
    h('td', { class: 'zones' }, zones),
    h('td', {}, h('a', { href: `#/metrics/${encodeURIComponent(s.name)}` }, 'metrics')),
  )
}
