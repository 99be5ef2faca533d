/**
 * msw 3 with the socket-level interceptor (notes/toolchain.md): msw's default setupServer()
 * does not see undici Pool requests, this does. Requests to 127.0.0.1 that no handler
 * matches go to the real network (loopback test servers, closed ports for "dead origin"
 * cases); any other unmatched request is an error, so no traffic leaves the machine.
 */
import { HttpRequestInterceptor } from '@mswjs/interceptors/http'
import type { RequestHandler } from 'msw'
import { defineNetwork, InMemoryHandlersController, InterceptorSource } from 'msw/experimental'

export interface MswNetwork {
  use(...handlers: RequestHandler[]): void
  reset(): void
  /** URLs of requests that no handler matched (loopback passthroughs included). */
  readonly unhandled: string[]
  stop(): Promise<void>
}

export async function startMswNetwork(...handlers: RequestHandler[]): Promise<MswNetwork> {
  const unhandled: string[] = []
  const network = defineNetwork({
    sources: [new InterceptorSource({ interceptors: [new HttpRequestInterceptor()] })],
    handlers: new InMemoryHandlersController(handlers),
    context: { quiet: true },
    onUnhandledFrame: ({ frame, defaults }) => {
      const url = String((frame.data as { request?: { url?: unknown } } | undefined)?.request?.url ?? '')
      unhandled.push(url)
      if (/^https?:\/\/127\.0\.0\.1[:/]/.test(url)) frame.passthrough()
      else defaults.error()
    },
  })
  await network.enable()
  return {
    use: (...h) => network.use(...h),
    reset: () => {
      network.resetHandlers(...handlers)
      unhandled.length = 0
    },
    unhandled,
    stop: async () => {
      await network.disable()
    },
  }
}
