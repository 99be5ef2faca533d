/**
 * One client's connection to a test registry: a Backend that forwards every call to the
 * shared registry, and whose close() ends only its own watches. Several clients (the
 * service under test, a peer) can then share one registry, and closing one of them does
 * not close the registry under the others.
 */
import type { Backend, BackendCapabilities, Unsubscribe } from '../backend.js'
import { ClientClosedError } from '../errors.js'
import type { MemoryBackend } from './memory-backend.js'

export interface TestBackendOptions {
  /** `backend.name`, as events and logs show it. Default 'test-registry'. */
  readonly name?: string
  /** `false`: no watchService/watchConfig, so the client polls (a server without push). Default true. */
  readonly push?: boolean
  /** `false`: no putConfig/deleteConfig (a read-only config center). Default true. */
  readonly configWrites?: boolean
  /** `false`: no metric sink (a server without a metrics endpoint). Default true. */
  readonly metrics?: boolean
  /** Overrides of the capabilities the client sees (e.g. `{ deregister: false }`). */
  readonly capabilities?: Partial<BackendCapabilities>
}

export function createBackendView(registry: MemoryBackend, options: TestBackendOptions = {}): Backend {
  const name = options.name ?? 'test-registry'
  const push = options.push ?? true
  const writes = options.configWrites ?? true
  const state = new ViewState(name)
  return {
    name,
    capabilities: viewCapabilities(registry, options),
    register: (spec, ctx) => state.call('register', () => registry.register(spec, ctx)),
    renew: (lease, ctx) => state.call('renew', () => registry.renew(lease, ctx)),
    deregister: (lease, ctx) => state.call('deregister', () => registry.deregister(lease, ctx)),
    resolve: (service, ctx) => state.call('resolve', () => registry.resolve(service, ctx)),
    listServices: (ctx) => state.call('listServices', () => registry.listServices(ctx)),
    getConfig: (key, ctx) => state.call('getConfig', () => registry.getConfig(key, ctx)),
    ...(push && {
      watchService: (service, watcher, o) => state.feed('watchService', () => registry.watchService(service, watcher, o)),
      watchConfig: (key, watcher, o) => state.feed('watchConfig', () => registry.watchConfig(key, watcher, o)),
    }),
    ...(writes && {
      putConfig: (key, value, o, ctx) => state.call('putConfig', () => registry.putConfig(key, value, o, ctx)),
      deleteConfig: (key, o, ctx) => state.call('deleteConfig', () => registry.deleteConfig(key, o, ctx)),
    }),
    ...(options.metrics !== false && { createMetricSink: () => ({ ...registry.createMetricSink(), name }) }),
    close: async () => state.close(),
  } satisfies Backend
}

function viewCapabilities(registry: MemoryBackend, options: TestBackendOptions): BackendCapabilities {
  return Object.freeze({
    ...registry.capabilities,
    ...(options.configWrites === false && { compareAndSet: false }),
    ...options.capabilities,
  })
}

/** Whether the view is closed, and the watches it opened (ended by its close()). */
class ViewState {
  readonly #name: string
  readonly #feeds = new Set<Unsubscribe>()
  #closed = false

  constructor(name: string) {
    this.#name = name
  }

  // Rejects like a real backend after close() instead of throwing synchronously.
  call<T>(op: string, run: () => Promise<T>): Promise<T> {
    return this.#closed ? Promise.reject(this.#closedError(op)) : run()
  }

  feed(op: string, subscribe: () => Unsubscribe): Unsubscribe {
    if (this.#closed) throw this.#closedError(op)
    const stop = subscribe()
    const tracked = (): void => {
      this.#feeds.delete(tracked)
      stop()
    }
    this.#feeds.add(tracked)
    return tracked
  }

  close(): void {
    this.#closed = true
    for (const stop of [...this.#feeds]) stop()
  }

  #closedError(op: string): ClientClosedError {
    return new ClientClosedError(`${this.#name}: ${op} after close()`)
  }
}
