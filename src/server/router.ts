/** Matches a request target against the route table: 404 for unknown paths, 405 with Allow. */
import type { Right } from './auth.js'
import { HttpError, badRequest } from './http-error.js'

export interface Target {
  /** Percent-decoded path segments, without the leading empty one. */
  readonly segments: readonly string[]
  /** The query string without its `?` (empty when there is none), parsed by whoever reads it. */
  readonly search: string
}

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i

/** Splits `req.url` (origin-form, or absolute-form as sent to proxies) into segments and query. */
export function parseTarget(url: string): Target {
  let rest = url
  // Origin-form starts with "/", which the absolute-form pattern cannot match: skip it then.
  if (rest.charCodeAt(0) !== 0x2f) {
    const absolute = ABSOLUTE_FORM.exec(rest)
    if (absolute) rest = rest.slice(absolute[0].length) || '/'
  }
  const hash = rest.indexOf('#')
  if (hash >= 0) rest = rest.slice(0, hash)
  const q = rest.indexOf('?')
  const path = q >= 0 ? rest.slice(0, q) : rest
  if (!path.startsWith('/')) throw new HttpError(404, 'not_found', 'no such path')
  const segments = path.slice(1).split('/')
  // Decoding a segment without "%" gives it back unchanged, so only those with one pay for it.
  for (let i = 0; i < segments.length; i++) if (segments[i]!.includes('%')) segments[i] = decodeSegment(segments[i]!)
  return { segments, search: q >= 0 ? rest.slice(q + 1) : '' }
}

function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw)
  } catch {
    throw badRequest('the path has malformed percent-encoding')
  }
}

export interface MethodSpec<H> {
  readonly handler: H
  /** The right a token needs; undefined: no auth at all (health). */
  readonly right: Right | undefined
  /** Whether the route takes a JSON body ('raw': the bytes, size-capped, as a Buffer). */
  readonly body: boolean | 'raw'
}

export interface RouteSpec<H> {
  /** Segments; `:name` captures one segment (possibly empty: names are checked later). */
  readonly path: string
  readonly methods: Readonly<Record<string, MethodSpec<H>>>
}

export type RouteMatch<H> =
  | { readonly kind: 'found'; readonly spec: MethodSpec<H>; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'method'; readonly allow: string; readonly needsAuth: boolean }
  | { readonly kind: 'none' }

const NONE = { kind: 'none' } as const

interface CompiledRoute<H> {
  readonly parts: readonly string[]
  readonly spec: RouteSpec<H>
}

export class Router<H> {
  /** Routes by segment count, in table order: only routes of the request's length can match. */
  readonly #byLength = new Map<number, CompiledRoute<H>[]>()

  constructor(routes: readonly RouteSpec<H>[]) {
    for (const spec of routes) {
      const parts = spec.path.slice(1).split('/')
      const bucket = this.#byLength.get(parts.length) ?? []
      bucket.push({ parts, spec })
      this.#byLength.set(parts.length, bucket)
    }
  }

  match(method: string, segments: readonly string[]): RouteMatch<H> {
    for (const { parts, spec } of this.#byLength.get(segments.length) ?? []) {
      if (!literalsMatch(parts, segments)) continue
      const params = captures(parts, segments)
      const lookup = method === 'HEAD' ? 'GET' : method
      const found = Object.hasOwn(spec.methods, lookup) ? spec.methods[lookup] : undefined
      if (found) return { kind: 'found', spec: found, params }
      const methods = Object.keys(spec.methods)
      const allow = methods.includes('GET') ? [...methods, 'HEAD'] : methods
      return { kind: 'method', allow: allow.join(', '), needsAuth: Object.values(spec.methods).some((m) => m.right !== undefined) }
    }
    return NONE
  }
}

/** Whether every literal part equals its segment; `parts` and `segments` have the same length. */
function literalsMatch(parts: readonly string[], segments: readonly string[]): boolean {
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    if (!part.startsWith(':') && part !== segments[i]) return false
  }
  return true
}

function captures(parts: readonly string[], segments: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {}
  for (let i = 0; i < parts.length; i++) if (parts[i]!.startsWith(':')) params[parts[i]!.slice(1)] = segments[i]!
  return params
}
