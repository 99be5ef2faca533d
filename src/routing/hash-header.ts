/** The value of one request header in any shape undici's DispatchOptions.headers takes. */
import type { Dispatcher } from 'undici'

/** `name` lower-cased; the first value of a repeated header; undefined when absent or empty. */
export function headerValue(headers: Dispatcher.DispatchOptions['headers'], name: string): string | undefined {
  if (headers === undefined || headers === null) return undefined
  if (Array.isArray(headers)) {
    // The flat form: [name, value, name, value, …] (strings or Buffers).
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) return nonEmpty(headers[i + 1])
    }
    return undefined
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[string, string | string[] | undefined]>) {
      if (Array.isArray(pair) && String(pair[0]).toLowerCase() === name) return nonEmpty(pair[1])
    }
    return undefined
  }
  for (const key in headers) if (key.toLowerCase() === name) return nonEmpty((headers as Record<string, unknown>)[key])
  return undefined
}

function nonEmpty(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value
  if (first === undefined || first === null) return undefined
  const text = String(first)
  return text === '' ? undefined : text
}
