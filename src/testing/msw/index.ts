/**
 * governance-client/testing/msw: protocol v1 as msw handlers, served from a test
 * registry (the same controls, faults and records as createTestRegistry()), and the
 * setup that makes msw see the client's requests at all.
 *
 * The client sends its requests with undici, which msw's setupServer() does not see;
 * msw 3 sees them when it is given @mswjs/interceptors' socket-level HttpRequestInterceptor
 * (see setupGovernanceMsw). Both packages are optional peer dependencies of this entry.
 */
import '../../node-guard.js'
import { HttpRequestInterceptor } from '@mswjs/interceptors/http'
import { http, type RequestHandler } from 'msw'
import { defineNetwork, InMemoryHandlersController, InterceptorSource, type DefineNetworkOptions } from 'msw/experimental'
import { createProtocolV1Handler } from '../protocol-v1/router.js'
import { createTestRegistry, type TestRegistry } from '../test-registry.js'

export interface ProtocolV1HandlersOptions {
  /** Where the client thinks the server is: the `server` option it is given, e.g. 'http://registry.test'. */
  readonly baseUrl: string
  /** The registry that serves the answers; default a fresh one (`handlers.registry`). */
  readonly registry?: TestRegistry
}

/** msw handlers (pass them to your msw setup) that also carry the registry they serve. */
export type GovernanceHandlers = RequestHandler[] & { readonly registry: TestRegistry }

/** msw handlers that answer protocol v1 under `baseUrl` from a test registry. */
export function protocolV1Handlers(options: ProtocolV1HandlersOptions): GovernanceHandlers {
  const base = new URL(options.baseUrl)
  const basePath = base.pathname.replace(/\/+$/, '')
  const registry = options.registry ?? createTestRegistry()
  const handle = createProtocolV1Handler(registry, { basePath })
  const handlers: RequestHandler[] = [http.all(`${base.origin}${basePath}/v1/*`, ({ request }) => handle(request))]
  return Object.assign(handlers, { registry })
}

type UnhandledRequest = NonNullable<DefineNetworkOptions<[InterceptorSource]>['onUnhandledFrame']>

export interface GovernanceMswOptions {
  /**
   * What happens to a request that no handler answers: 'error' (default: it fails, so no
   * traffic leaves the test), 'warn', 'bypass', or msw's callback `({ frame, defaults })`.
   */
  readonly onUnhandledRequest?: UnhandledRequest
}

export interface GovernanceMsw {
  /** Prepends handlers (for one test); resetHandlers() drops them again. */
  use(...handlers: RequestHandler[]): void
  /** Back to the initial handlers, or to the ones given. */
  resetHandlers(...handlers: RequestHandler[]): void
  /** Stops intercepting. Idempotent. */
  close(): Promise<void>
}

/**
 * Starts msw with the socket-level interceptor, so that it sees undici (the client's
 * HTTP stack), node:http and global fetch alike. Use it instead of msw's setupServer();
 * call close() after the tests.
 */
export async function setupGovernanceMsw(handlers: readonly RequestHandler[], options: GovernanceMswOptions = {}): Promise<GovernanceMsw> {
  const initial = [...handlers]
  const network = defineNetwork({
    sources: [new InterceptorSource({ interceptors: [new HttpRequestInterceptor()] })],
    handlers: new InMemoryHandlersController(initial),
    onUnhandledFrame: options.onUnhandledRequest ?? 'error',
    // Without this msw logs every request.
    context: { quiet: true },
  })
  await network.enable()
  let closing: Promise<void> | undefined
  return {
    use: (...extra) => network.use(...extra),
    resetHandlers: (...next) => network.resetHandlers(...(next.length > 0 ? next : initial)),
    close: () => (closing ??= Promise.resolve(network.disable())),
  }
}
