/** A tiny element builder: h('div', { class: 'x', onclick }, child, 'text'). */
type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, string | number | boolean | ((event: Event) => void) | undefined>

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value)
    else if (value === true) el.setAttribute(name, '')
    else el.setAttribute(name, String(value))
  }
  append(el, children)
  return el
}

export function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    el.append(typeof child === 'object' ? child : String(child))
  }
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren()
  append(el, children)
}

/** "3 s ago", "2 min ago". */
export function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s} s ago`
  const m = Math.round(s / 60)
  return m < 120 ? `${m} min ago` : `${Math.round(m / 60)} h ago`
}

/** A modal confirmation; resolves true when the operator confirms. */
export function confirmDialog(message: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm' })
    const done = (ok: boolean): void => {
      dialog.close()
      dialog.remove()
      resolve(ok)
    }
    append(dialog, [
      h('p', {}, message),
      h('div', { class: 'row' }, h('button', { class: 'danger', 'data-confirm': 'yes', onclick: () => done(true) }, action), h('button', { onclick: () => done(false) }, 'Cancel')),
    ])
    dialog.addEventListener('cancel', () => done(false))
    document.body.append(dialog)
    dialog.showModal()
  })
}
