/** Config: the keys, one key's value with a compare-and-set editor, its history and rollback. */
import { ApiError, api, auth, enc, follow } from '../api.js'
import { diffLines, pretty } from '../diff.js'
import { confirmDialog, h, replace } from '../dom.js'

interface Entry {
  key: string
  value: unknown
  version: string
}

export function configListView(root: HTMLElement, signal: AbortSignal): void {
  const list = h('ul', { class: 'keys', id: 'config-keys' })
  const newKey = h('input', { placeholder: 'new key', id: 'new-key', disabled: !auth.canWrite })
  const open = (): void => {
    if (newKey.value) location.hash = `#/config/${enc(newKey.value)}`
  }
  replace(root, h('h1', {}, 'Config'), h('div', { class: 'row' }, newKey, h('button', { onclick: open, disabled: !auth.canWrite }, 'create')), list)
  api<{ keys: { key: string; version: string }[] }>('GET', '/v1/config', undefined, signal).then(
    (answer) => replace(list, ...answer.keys.map((k) => h('li', {}, h('a', { href: `#/config/${enc(k.key)}` }, k.key), h('span', { class: 'muted' }, ` v${k.version}`)))),
    (error: Error) => replace(list, h('li', {}, `cannot list keys: ${error.message}`)),
  )
}

export function configKeyView(root: HTMLElement, signal: AbortSignal, key: string): void {
  const state = { current: undefined as Entry | undefined, editingVersion: '0' }
  const version = h('span', { id: 'config-version' })
  const editor = h('textarea', { id: 'config-editor', spellcheck: 'false', rows: 14, disabled: !auth.canWrite })
  const problem = h('div', { id: 'config-problem', class: 'message' })
  const conflict = h('div', { id: 'config-conflict' })
  const history = h('div', { id: 'config-history' })
  const save = h('button', { id: 'config-save', disabled: !auth.canWrite }, 'save (compare-and-set)')
  replace(root, h('h1', {}, h('a', { href: '#/config' }, 'Config'), ' / ', key), h('p', {}, 'version ', version), editor, h('div', { class: 'row' }, save), problem, conflict, h('h2', {}, 'History'), history)

  const load = (entry: Entry | undefined): void => {
    state.current = entry
    state.editingVersion = entry?.version ?? '0'
    version.textContent = entry ? entry.version : '(not set)'
    editor.value = entry ? pretty(entry.value) : ''
    replace(conflict)
    void loadHistory(key, history, state, signal, load)
  }
  editor.addEventListener('input', () => {
    problem.textContent = validJson(editor.value) ? '' : 'not valid JSON'
    save.toggleAttribute('disabled', !auth.canWrite || !validJson(editor.value))
  })
  save.addEventListener('click', () => void write(key, editor.value, state.editingVersion, problem, conflict, load))
  // Follow the key: a change by someone else while editing shows up as a notice, never replaces the draft.
  void follow<Entry & { index: string }>(
    `/v1/config/${enc(key)}`,
    signal,
    (entry) => {
      const dirty = state.current !== undefined && editor.value !== pretty(state.current.value)
      if (!dirty) return load(entry)
      problem.textContent = `changed elsewhere: now version ${entry.version}; saving will show the conflict`
      void loadHistory(key, history, state, signal, load)
    },
    (error) => {
      if (error instanceof ApiError && error.status === 404 && state.current === undefined) load(undefined)
    },
  )
}

function validJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

async function write(key: string, text: string, ifVersion: string, problem: HTMLElement, conflict: HTMLElement, load: (e: Entry) => void): Promise<void> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    problem.textContent = `not valid JSON: ${(error as Error).message}`
    return
  }
  try {
    load(await api<Entry>('PUT', `/v1/config/${enc(key)}`, { value, ifVersion }))
    problem.textContent = 'saved'
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) {
      problem.textContent = `save failed: ${(error as Error).message}`
      return
    }
    // Never overwrite: show what is stored now, and let the operator choose.
    const theirs = await api<Entry>('GET', `/v1/config/${enc(key)}`).catch(() => undefined)
    problem.textContent = `conflict: the key is at version ${String(error.body['currentVersion'])}, not ${ifVersion}. Nothing was written.`
    replace(
      conflict,
      h('p', {}, 'The value stored now:'),
      h('pre', { class: 'json', id: 'conflict-theirs' }, theirs ? pretty(theirs.value) : '(deleted)'),
      h('p', {}, 'Your draft against it:'),
      diffView(theirs ? pretty(theirs.value) : "", pretty(value)),
      h('div', { class: 'row' }, h('button', { id: 'conflict-load', onclick: () => theirs && load(theirs) }, 'discard my draft, load theirs')),
    )
  }
}

interface HistoryVersion {
  version: string
  value: unknown
  deleted: boolean
  time: number
  writer: string
}

async function loadHistory(key: string, root: HTMLElement, state: { current: Entry | undefined }, signal: AbortSignal, load: (e: Entry) => void): Promise<void> {
  let versions: HistoryVersion[]
  try {
    versions = (await api<{ versions: HistoryVersion[] }>('GET', `/v1/config/${enc(key)}/history?limit=50`, undefined, signal)).versions
  } catch (error) {
    replace(root, h('p', { class: 'muted' }, error instanceof ApiError && error.status === 404 ? 'No history for this key.' : `cannot load history: ${(error as Error).message}`))
    return
  }
  const pick = { a: versions[1]?.version ?? versions[0]?.version, b: versions[0]?.version }
  const diff = h('div', { id: 'history-diff' })
  const showDiff = (): void => {
    const a = versions.find((v) => v.version === pick.a)
    const b = versions.find((v) => v.version === pick.b)
    replace(diff, a && b ? h('div', {}, h('p', { class: 'muted' }, `v${a.version} → v${b.version}`), diffView(textOf(a), textOf(b))) : null)
  }
  const rows = versions.map((v) =>
    h(
      'tr',
      { 'data-version': v.version },
      h('td', {}, h('input', { type: 'radio', name: 'diff-a', checked: v.version === pick.a, onchange: () => ((pick.a = v.version), showDiff()) })),
      h('td', {}, h('input', { type: 'radio', name: 'diff-b', checked: v.version === pick.b, onchange: () => ((pick.b = v.version), showDiff()) })),
      h('td', {}, v.version),
      h('td', {}, new Date(v.time).toLocaleString()),
      h('td', {}, v.writer),
      h('td', { class: 'meta' }, v.deleted ? '(deleted)' : JSON.stringify(v.value).slice(0, 60)),
      h('td', {}, v.deleted || v.version === state.current?.version ? '' : h('button', { 'data-rollback': v.version, disabled: !auth.canWrite, onclick: () => void rollback(key, v, state, load) }, 'roll back to this')),
    ),
  )
  replace(root, h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, ...['A', 'B', 'version', 'time', 'writer', 'value', ''].map((t) => h('th', {}, t)))), h('tbody', {}, ...rows)), diff)
  showDiff()
}

const textOf = (v: HistoryVersion): string => (v.deleted ? '' : pretty(v.value))

/** A rollback is a compare-and-set write of the old value over the version shown now. */
async function rollback(key: string, v: HistoryVersion, state: { current: Entry | undefined }, load: (e: Entry) => void): Promise<void> {
  const ifVersion = state.current?.version ?? '0'
  if (!(await confirmDialog(`Write version ${v.version}'s value over version ${ifVersion}?`, 'Roll back'))) return
  const problem = document.getElementById('config-problem')!
  try {
    load(await api<Entry>('PUT', `/v1/config/${enc(key)}`, { value: v.value, ifVersion }))
    problem.textContent = `rolled back to the value of version ${v.version}`
  } catch (error) {
    problem.textContent = error instanceof ApiError && error.status === 409 ? `conflict: the key changed (now ${String(error.body['currentVersion'])}); nothing was written` : `rollback failed: ${(error as Error).message}`
  }
}

function diffView(before: string, after: string): HTMLElement {
  return h('pre', { class: 'diff' }, ...diffLines(before, after).map((line) => h('div', { class: line.op === '+' ? 'add' : line.op === '-' ? 'del' : 'same' }, `${line.op} ${line.text}`)))
}
