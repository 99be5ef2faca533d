/** Recognising the library's own HTTP requests, e.g. to keep them out of undici tracing. */
import { LIBRARY_USER_AGENT } from './version.js'

export { LIBRARY_USER_AGENT }

/**
 * True for a request the library made (heartbeats, long polls, metric exports): they carry
 * `user-agent: governance-client/<version>`. Takes undici's request object, whose headers are
 * a flat [name, value, …] list or a string, as @opentelemetry/instrumentation-undici passes it.
 *
 * @example
 * new UndiciInstrumentation({ ignoreRequestHook: (request) => isLibraryRequest(request) })
 */
export function isLibraryRequest(request: { readonly headers?: unknown }): boolean {
  const headers = request.headers
  if (typeof headers === 'string') return /(^|\r\n)user-agent:\s*governance-client\//i.test(headers)
  if (!Array.isArray(headers)) return false
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]
    if (String(name).toLowerCase() === 'user-agent' && String(headers[i + 1]).startsWith('governance-client/')) return true
  }
  return false
}
