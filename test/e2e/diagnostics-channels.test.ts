/**
 * Observability of the client itself: diagnostics_channel events and backend tracing, and
 * the library's own requests recognisable on undici's channels (what
 * @opentelemetry/instrumentation-undici subscribes to).
 */
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it } from 'vitest'
import { BACKEND_TRACING_CHANNEL, GovernanceClient, LIBRARY_USER_AGENT, isLibraryRequest, type BackendCallContext } from '../../src/index.js'
import { createGovernanceServer } from '../../src/server/index.js'
import pkg from '../../package.json' with { type: 'json' }
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { request } from 'undici'

const cleanups: (() => unknown)[] = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

function listen(name: string): unknown[] {
  const seen: unknown[] = []
  const fn = (message: unknown): void => void seen.push(message)
  subscribe(name, fn)
  cleanups.push(() => unsubscribe(name, fn))
  return seen
}

async function client() {
  const server = await createGovernanceServer({ port: 0, host: '127.0.0.1' })
  cleanups.push(() => server.close())
  const gov = new GovernanceClient({ server: server.url, service: { name: 'orders', port: 8080, address: '127.0.0.1' }, logger: false, metrics: { processMetrics: false } })
  cleanups.push(() => gov.close())
  return Object.assign(gov, { serverUrl: server.url })
}

describe('diagnostics_channel', () => {
  it('publishes register, config change and export events, and traces backend calls', async () => {
    const registered = listen('governance-client:registry:registered')
    const configChanged = listen('governance-client:config:changed')
    const exported = listen('governance-client:metrics:exported')
    const calls: { phase: string; context: BackendCallContext & { result?: unknown; error?: unknown } }[] = []
    const handlers = {
      start: (context: BackendCallContext) => void calls.push({ phase: 'start', context }),
      asyncEnd: (context: BackendCallContext) => void calls.push({ phase: 'asyncEnd', context }),
      error: (context: BackendCallContext) => void calls.push({ phase: 'error', context }),
    }
    const channel = tracingChannel<BackendCallContext>(BACKEND_TRACING_CHANNEL)
    channel.subscribe(handlers as never)
    cleanups.push(() => channel.unsubscribe(handlers as never))

    const gov = await client()
    await gov.register()
    expect(registered).toMatchObject([{ service: 'orders', instanceId: gov.instanceId }])
    expect(calls.filter((c) => c.context.operation === 'register').map((c) => c.phase)).toEqual(['start', 'asyncEnd'])
    expect(calls[0]!.context).toMatchObject({ backend: 'http', operation: 'register', target: 'orders' })

    const watched = new Promise<void>((resolve) => gov.config.watch('flags', () => resolve()))
    await gov.config.put('flags', { dark: true })
    await watched
    await expect.poll(() => configChanged.length).toBeGreaterThan(0)
    expect(configChanged.at(-1)).toMatchObject({ key: 'flags', value: { dark: true } })

    gov.metrics.counter('jobs_total').inc()
    await gov.metrics.flush()
    expect(exported.at(-1)).toMatchObject({ sink: expect.any(String), points: expect.any(Number) })
  })

  it("marks the library's own requests with its user-agent, seen on undici's channel", async () => {
    expect(LIBRARY_USER_AGENT).toBe(`governance-client/${pkg.version}`)
    const created = listen('undici:request:create') as { request: { headers: unknown; path: string } }[]
    const gov = await client()
    await gov.register()
    const ours = created.filter((m) => m.request.path.startsWith('/v1/'))
    expect(ours.length).toBeGreaterThan(0)
    expect(ours.every((m) => isLibraryRequest(m.request))).toBe(true)
    expect(isLibraryRequest({ headers: ['accept', '*/*', 'user-agent', 'curl/8'] })).toBe(false)
    expect(isLibraryRequest({ headers: 'host: x\r\nuser-agent: governance-client/0.1.0\r\n' })).toBe(true)
  })

  it('keeps the library out of @opentelemetry/instrumentation-undici spans with isLibraryRequest', async () => {
    const spansWith = async (ignore: boolean): Promise<string[]> => {
      const exporter = new InMemorySpanExporter()
      const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
      const instrumentation = new UndiciInstrumentation(ignore ? { ignoreRequestHook: (req) => isLibraryRequest(req) } : {})
      instrumentation.setTracerProvider(provider)
      instrumentation.enable()
      try {
        const gov = await client()
        await gov.register()
        await gov.config.put('k', 1)
        // The application's own call through undici: it must still be traced.
        const res = await request(`${gov.serverUrl}/v1/health`, { headers: { 'user-agent': 'my-app/1' } })
        await res.body.dump()
        await provider.forceFlush()
        return exporter.getFinishedSpans().map((span) => String(span.attributes['url.path'] ?? span.name))
      } finally {
        instrumentation.disable()
        await provider.shutdown()
      }
    }
    const traced = await spansWith(false)
    expect(traced.filter((p) => p.startsWith('/v1/services')).length).toBeGreaterThan(0)
    const filtered = await spansWith(true)
    expect(filtered).toEqual(['/v1/health'])
  })
})
