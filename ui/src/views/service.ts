/** One service: its instances, live, with the operator's status and weight overrides. */
import { ApiError, api, auth, enc, follow } from '../api.js'
import { age, confirmDialog, h, replace } from '../dom.js'

interface Instance {
  id: string
  address: string
  port: number
  status: string
  zone?: string
  weight: number
  tags: string[]
  metadata: Record<string, string>
  registeredAt: number
  renewedAt: number
  override?: { status?: string; weight?: number; setAt: number }
}

export function serviceView(root: HTMLElement, signal: AbortSignal, service: string): void {
  const body = h('tbody')
  const note = h('p', { class: 'muted' }, 'loading…')
  const message = h('p', { class: 'message', id: 'message' })
  replace(
    root,
    h('h1', {}, h('a', { href: '#/' }, 'Services'), ' / ', service),
    h('p', {}, h('a', { href: `#/metrics/${enc(service)}` }, 'metrics of this service')),
    note,
    message,
    h(
      'table',
      { class: 'grid', id: 'instances' },
      h('thead', {}, h('tr', {}, ...['instance', 'address', 'status', 'zone', 'weight', 'tags', 'metadata', 'epoch', 'heartbeat', 'operator'].map((t) => h('th', {}, t)))),
      body,
    ),
  )
  let instances: Instance[] = []
  const render = (): void => replace(body, ...instances.map((i) => instanceRow(service, i, message)))
  // Heartbeat ages move with the clock, not the index: redraw locally, ask the server nothing.
  const ticker = setInterval(() => {
    for (const cell of body.querySelectorAll<HTMLElement>('[data-renewed]')) cell.textContent = age(Date.now() - Number(cell.dataset['renewed']))
  }, 1000)
  signal.addEventListener('abort', () => clearInterval(ticker))
  void follow<{ instances: Instance[]; index: string }>(
    `/v1/services/${enc(service)}`,
    signal,
    (answer) => {
      instances = answer.instances
      note.textContent = `${instances.length} instances · index ${answer.index}`
      render()
    },
    (error) => (note.textContent = `cannot load: ${(error as Error).message}`),
  )
}

function instanceRow(service: string, i: Instance, message: HTMLElement): HTMLElement {
  const overridden = i.override !== undefined
  return h(
    'tr',
    { 'data-instance': i.id, 'data-status': i.status },
    h('td', {}, i.id),
    h('td', {}, `${i.address}:${i.port}`),
    h('td', { class: `status-${i.status}` }, i.status, overridden && i.override?.status ? h('span', { class: 'badge', title: 'set by an operator' }, 'override') : null),
    h('td', {}, i.zone ?? ''),
    h('td', { class: 'num' }, i.weight, overridden && i.override?.weight !== undefined ? h('span', { class: 'badge' }, 'override') : null),
    h('td', {}, i.tags.join(', ')),
    h('td', { class: 'meta' }, Object.entries(i.metadata).map(([k, v]) => `${k}=${v}`).join(' ')),
    h('td', { class: 'num', title: 'registered at' }, i.metadata['epoch'] ?? new Date(i.registeredAt).toLocaleTimeString()),
    h('td', { 'data-renewed': i.renewedAt }, age(Date.now() - i.renewedAt)),
    h('td', { class: 'actions' }, ...operatorControls(service, i, message)),
  )
}

function operatorControls(service: string, i: Instance, message: HTMLElement): HTMLElement[] {
  const disabled = !auth.canWrite
  const path = `/v1/services/${enc(service)}/instances/${enc(i.id)}/override`
  const run = async (what: string, call: () => Promise<unknown>): Promise<void> => {
    if (!(await confirmDialog(`${what} on ${i.id}?`, what))) return
    try {
      await call()
      message.textContent = `${what}: done`
    } catch (error) {
      message.textContent = `${what} failed: ${error instanceof ApiError ? `${error.status} ${error.message}` : String(error)}`
    }
  }
  const weight = h('input', { type: 'number', min: 0, max: 1000, value: i.weight, class: 'weight', disabled, 'aria-label': 'weight' })
  return [
    h('button', { disabled, 'data-action': 'down', onclick: () => run('Mark DOWN', () => api('PUT', path, { status: 'DOWN' })) }, 'DOWN'),
    h('button', { disabled, 'data-action': 'up', onclick: () => run('Mark UP', () => api('PUT', path, { status: 'UP' })) }, 'UP'),
    h('button', { disabled, 'data-action': 'oos', onclick: () => run('Take out of service', () => api('PUT', path, { status: 'OUT_OF_SERVICE' })) }, 'OUT'),
    weight,
    h('button', { disabled, 'data-action': 'weight', onclick: () => run(`Set weight ${weight.value}`, () => api('PUT', path, { weight: Number(weight.value) })) }, 'set weight'),
    h('button', { disabled: disabled || i.override === undefined, 'data-action': 'clear', onclick: () => run('Clear the override', () => api('DELETE', path)) }, 'clear'),
  ]
}
