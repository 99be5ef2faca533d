/** Calls to the server's /v1 API with the operator's token, and blocking-query loops. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message)
  }
}

const TOKEN_KEY = 'governance-console-token'

export const auth = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY)
  },
  set token(value: string | null) {
    if (value === null) sessionStorage.removeItem(TOKEN_KEY)
    else sessionStorage.setItem(TOKEN_KEY, value)
  },
  /** Set once the rights probe has run: false with a read-only token. */
  canWrite: true,
}

export async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = {}
  if (auth.token) headers['authorization'] = `Bearer ${auth.token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const init: RequestInit = { method, headers }
  if (body !== undefined) init.body = JSON.stringify(body)
  if (signal) init.signal = signal
  const res = await fetch(path, init)
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>
  if (!res.ok) {
    const error = (json['error'] ?? {}) as Record<string, unknown>
    throw new ApiError(res.status, String(error['code'] ?? 'unknown'), String(error['message'] ?? res.statusText), error)
  }
  return json as T
}

/**
 * Whether the token may write, without changing anything: a DELETE of an invalid key is
 * checked for auth (403 for a read token) before the key is refused (400).
 */
export async function probeWrite(): Promise<boolean> {
  try {
    await api('DELETE', '/v1/config/%7E')
    return true
  } catch (error) {
    return !(error instanceof ApiError && (error.status === 403 || error.status === 401))
  }
}

/**
 * Follows a resource with blocking queries: `onChange` gets every answer whose index
 * moved. The server holds each request until something changes, so this never polls
 * faster than the index moves; after an error it waits before trying again.
 */
export async function follow<T extends { index?: string }>(path: string, signal: AbortSignal, onChange: (answer: T) => void, onError?: (error: unknown) => void): Promise<void> {
  let index = '0'
  while (!signal.aborted) {
    try {
      const sep = path.includes('?') ? '&' : '?'
      const answer = await api<T>('GET', `${path}${sep}index=${index}&wait=30s`, undefined, signal)
      const next = answer.index ?? '0'
      if (next !== index) onChange(answer)
      index = next
    } catch (error) {
      if (signal.aborted) return
      if (error instanceof ApiError && error.status === 404 && typeof error.body['index'] === 'string') {
        index = error.body['index'] as string
        onError?.(error)
        continue
      }
      onError?.(error)
      await sleep(2000, signal)
    }
  }
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

export const enc = encodeURIComponent
