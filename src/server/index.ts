/**
 * The reference server of protocol v1 (docs/protocol.md): registry, config and metrics on
 * one origin, built on node:http alone.
 */
import '../node-guard.js'
import { GovernanceError } from '../errors.js'
import { TokenAuth } from './auth.js'
import { WaiterHub } from './waiter-hub.js'
import { ConfigDisk, type KeyHistory, type LoadedConfig } from './config-disk.js'
import { ConfigStore } from './config-store.js'
import { SERVICES_RESOURCE, configResource, serviceResource, type ServerState } from './handler.js'
import { createConsoleHandler } from './console-assets.js'
import { HttpServer } from './http-server.js'
import { IndexCounter } from './index-counter.js'
import { MetricHistory } from './metric-history.js'
import { MetricsStore } from './metrics-store.js'
import { resolveServerOptions, type GovernanceServerOptions, type ResolvedServerOptions } from './options.js'
import { RegistryStore } from './registry-store.js'
import { createServerHandler } from './routes.js'
import { ServerStats } from './server-stats.js'

export type { GovernanceServerOptions } from './options.js'
/** The limit options (`maxConnections` … `diskTimeoutMs`), for code that builds them apart. */
export type { ServerLimits } from './limits.js'

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

/** Opens the config directory (checking it is writable) and loads it; the file at fault is named. */
async function openConfigDisk(options: ResolvedServerOptions): Promise<{ disk?: ConfigDisk; loaded: LoadedConfig }> {
  const { dataDir } = options
  if (dataDir === undefined) return { loaded: { keys: new Map(), index: 1n } }
  try {
    return await ConfigDisk.open(dataDir, options.limits.diskTimeoutMs)
  } catch (error) {
    throw new GovernanceError(`cannot load the config from ${dataDir}: ${(error as Error).message}`, { cause: error })
  }
}

/** The stores and the waiter hub, wired so that every change wakes its resource's watchers. */
function createState(disk: ConfigDisk | undefined, loaded: LoadedConfig, options: ResolvedServerOptions): ServerState {
  const { limits } = options
  const stats = new ServerStats(options.logger)
  const counter = new IndexCounter(loaded.index)
  const hub = new WaiterHub({
    maxHeld: limits.maxHeldQueries,
    maxHeldPerClient: limits.maxHeldQueriesPerClient,
    onRefuse: (scope, client) =>
      stats.refuse(scope === 'total' ? 'heldQueriesRefused' : 'heldQueriesRefusedPerClient', `blocking query refused: ${scope === 'total' ? 'maxHeldQueries' : 'maxHeldQueriesPerClient'} reached`, { client }),
  })
  const history = new MetricHistory({ ...options.metricHistory, logger: options.logger })
  const registry = new RegistryStore({
    counter,
    onChange: (service) => {
      hub.notify(serviceResource(service))
      hub.notify(SERVICES_RESOURCE)
    },
    maxInstancesPerService: limits.maxInstancesPerService,
    maxServices: limits.maxServices,
    onRefuse: (limit, service) => stats.refuse(limit === 'maxServices' ? 'servicesRefused' : 'instancesRefused', `registration refused: ${limit} reached`, { service }),
  })
  const config = new ConfigStore({
    initial: loaded.keys,
    index: loaded.index,
    counter,
    onChange: (key) => hub.notify(configResource(key)),
    limits,
    historyLength: options.configHistory,
    onRefuse: (limit, key) => stats.refuse(limit === 'maxConfigKeys' ? 'configKeysRefused' : 'configBytesRefused', `config write refused: ${limit} reached`, { key }),
    onPersistFailure: (error) => {
      stats.count('diskWriteFailures')
      stats.warn('config write failed; nothing was changed', { dataDir: options.dataDir, error }, 'error')
    },
    ...(disk === undefined ? {} : { persist: (changed: readonly KeyHistory[], removed: readonly string[]) => disk.write(changed, removed) }),
  })
  const metrics = new MetricsStore({
    retentionMs: options.metricsRetentionMs,
    maxSeriesPerService: limits.maxSeriesPerService,
    maxSeries: limits.maxSeries,
    onRefuse: (limit, service) => stats.refuse(limit === 'maxSeries' ? 'seriesRefused' : 'seriesRefusedPerService', `metric batch refused: ${limit} reached`, { service }),
    onExpired: (count) => stats.count('metricsInstancesExpired', count),
    onApplied: (batch) => history.record(batch),
  })
  const authEnabled = options.tokens.read.length + options.tokens.write.length > 0
  return { counter, hub, registry, config, metrics, history, stats, limits, authEnabled, logger: options.logger }
}

/**
 * Starts a server; resolves once it is listening. Bad or unknown options reject with
 * InvalidArgumentError before anything starts.
 */
export async function createGovernanceServer(options?: GovernanceServerOptions): Promise<GovernanceServer> {
  return start(resolveServerOptions(options))
}

async function start(resolved: ResolvedServerOptions): Promise<GovernanceServer> {
  const { logger } = resolved
  const { disk, loaded } = await openConfigDisk(resolved)
  const state = createState(disk, loaded, resolved)
  const http = new HttpServer({
    limits: resolved.limits,
    stats: state.stats,
    handler: createServerHandler(state, new TokenAuth(resolved.tokens), logger),
    maxBodyBytes: resolved.maxBodyBytes,
    logger,
    closeGraceMs: resolved.closeGraceMs,
    assets: createConsoleHandler(),
  })
  let address
  try {
    address = await http.listen(resolved.port, resolved.host)
  } catch (error) {
    state.registry.close()
    state.metrics.close()
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
      state.metrics.close()
      logger.info('governance server closed', { url })
    })())
  return { url, port: address.port, host, close, [Symbol.asyncDispose]: close }
}
