/** The console's shell: token prompt, navigation and hash routes to the views. */
import { ApiError, api, auth, probeWrite } from './api.js'
import { h, replace } from './dom.js'
import { configKeyView, configListView } from './views/config.js'
import { metricsView } from './views/metrics.js'
import { serviceView } from './views/service.js'
import { servicesView } from './views/services.js'

const main = document.getElementById('main')!
const mode = document.getElementById('mode')!
let current: AbortController | undefined

function route(): void {
  current?.abort()
  const controller = new AbortController()
  current = controller
  const [, page = '', arg] = location.hash.split('/').map((p) => decodeURIComponent(p))
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.getAttribute('data-page') === (page || 'services')))
  if (page === 'service' && arg) serviceView(main, controller.signal, arg)
  else if (page === 'metrics' && arg) metricsView(main, controller.signal, arg)
  else if (page === 'metrics') pickService(main, controller.signal)
  else if (page === 'config' && arg) configKeyView(main, controller.signal, arg)
  else if (page === 'config') configListView(main, controller.signal)
  else servicesView(main, controller.signal)
}

function pickService(root: HTMLElement, signal: AbortSignal): void {
  const list = h('ul', { class: 'keys' })
  replace(root, h('h1', {}, 'Metrics'), list)
  api<{ services: { name: string }[] }>('GET', '/v1/services', undefined, signal).then((a) =>
    replace(list, ...a.services.map((s) => h('li', {}, h('a', { href: `#/metrics/${encodeURIComponent(s.name)}` }, s.name)))),
  )
}

function askToken(reason: string): void {
  const input = h('input', { type: 'password', id: 'token', placeholder: 'token', autocomplete: 'off' })
  const submit = (event: Event): void => {
    event.preventDefault()
    auth.token = input.value
    void start()
  }
  replace(main, h('form', { class: 'login', id: 'login', onsubmit: submit }, h('h1', {}, 'Token required'), h('p', { class: 'muted' }, reason), input, h('button', { type: 'submit' }, 'open console')))
  input.focus()
}

async function start(): Promise<void> {
  try {
    await api('GET', '/v1/services')
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      askToken(auth.token ? 'That token was refused.' : 'This server needs a token (--token or --read-token).')
      auth.token = null
      return
    }
  }
  auth.canWrite = await probeWrite()
  mode.textContent = auth.canWrite ? '' : 'read-only'
  document.body.classList.toggle('read-only', !auth.canWrite)
  document.getElementById('logout')!.toggleAttribute('hidden', !auth.token)
  window.addEventListener('hashchange', route)
  route()
}

document.getElementById('logout')!.addEventListener('click', () => {
  auth.token = null
  location.reload()
})
void start()
