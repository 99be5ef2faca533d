/**
 * The reference server of protocol v1 (docs/protocol.md): registry, config and metrics on
 * one origin, built on node:http alone.
 */
import '../node-guard.js'
import { GovernanceError } from '../errors.js'
import { TokenAuth } from './auth.js'
import { WaiterHub } from './blocking.js'
import { loadConfigFile, saveConfigFile, type ConfigSnapshot } from './config-file.js'
import { ConfigStore } from './config-store.js'
import { configResource, serviceResource, type ServerState } from './handler.js'
import { HttpServer } from './http-server.js'
import { IndexCounter } from './index-counter.js'
import { MetricsStore } from './metrics-store.js'
import { resolveServerOptions, type GovernanceServerOptions, type ResolvedServerOptions } from './options.js'
import { RegistryStore } from './registry-store.js'
import { createRoutes } from './routes.js'

export type { GovernanceServerOptions } from './options.js'

export interface GovernanceServer {
  /** `http://host:port`, with the real port when 0 was asked for. */
  readonly url: string
  readonly port: number
  readonly host: string
  /**
   * Graceful and idempotent: stops accepting, answers every held blocking query with the
   * current state, lets in-flight requests finish, closes idle connections, flushes
   * config writes.
   */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

async function loadInitialConfig(dataDir: string | undefined): Promise<ConfigSnapshot> {
  if (dataDir === undefined) return { index: 1n, entries: new Map() }
  try {
    return await loadConfigFile(dataDir)
  } catch (error) {
    throw new GovernanceError(`cannot load the config from ${dataDir}: ${(error as Error).message}`, { cause: error })
  }
}

/** The stores and the waiter hub, wired so that every change wakes its resource's watchers. */
function createState(initial: ConfigSnapshot, options: ResolvedServerOptions): ServerState {
  const { dataDir } = options
  const counter = new IndexCounter(initial.index)
  const hub = new WaiterHub()
  return {
    counter,
    hub,
    registry: new RegistryStore({ counter, onChange: (service) => hub.notify(serviceResource(service)) }),
    config: new ConfigStore({
      initial,
      counter,
      onChange: (key) => hub.notify(configResource(key)),
      ...(dataDir === undefined ? {} : { persist: (snapshot: ConfigSnapshot) => saveConfigFile(dataDir, snapshot) }),
    }),
    metrics: new MetricsStore({ retentionMs: options.metricsRetentionMs }),
  }
}

/** Starts a server; resolves once it is listening. */
export async function createGovernanceServer(options?: GovernanceServerOptions): Promise<GovernanceServer> {
  const resolved = resolveServerOptions(options)
  const { logger } = resolved
  const state = createState(await loadInitialConfig(resolved.dataDir), resolved)
  const http = new HttpServer({
    router: createRoutes(state),
    auth: new TokenAuth(resolved.tokens),
    maxBodyBytes: resolved.maxBodyBytes,
    logger,
    closeGraceMs: resolved.closeGraceMs,
  })
  let address
  try {
    address = await http.listen(resolved.port, resolved.host)
  } catch (error) {
    state.registry.close()
    throw new GovernanceError(`cannot listen on ${resolved.host}:${resolved.port}: ${(error as Error).message}`, { cause: error })
  }
  const host = address.address
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`
  logger.info('governance server listening', { url, dataDir: resolved.dataDir })

  let closing: Promise<void> | undefined
  // Order matters: stop accepting first, then answer held queries, then wait for in-flight
  // requests (config writes among them) before the last flush.
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const closed = http.close()
      state.hub.close()
      await closed
      await state.config.flush()
      state.registry.close()
      logger.info('governance server closed', { url })
    })())
  return { url, port: address.port, host, close, [Symbol.asyncDispose]: close }
}
