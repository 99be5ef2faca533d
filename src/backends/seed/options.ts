/** seedBackend's options, validated when the backend is created (messages name the option). */
import { createConsoleLogger, replaceableLogger, resolveLoggerOption, type Logger } from '../../internal/logger.js'
import { durationMs, httpUrl, objectOption } from '../../internal/options-kit.js'

export interface SeedBackendOptions {
  /**
   * Base URL of the registry center (POST /register, GET /query).
   * @example 'http://registry.internal:8080'
   */
  readonly registry: string
  /**
   * Base URL of the monitor center (POST /register, GET /query).
   * @example 'http://monitor.internal:8080'
   */
  readonly monitor: string
  /**
   * Base URL of the config center (GET /query, POST /update).
   * @example 'http://config.internal:8080'
   */
  readonly config: string
  /**
   * @deprecated Ignored: the backend has no watch methods, so the client polls it at
   * `discovery.pollIntervalMs` and `config.pollIntervalMs`. Still validated (at least 50).
   */
  readonly pollIntervalMs?: number
  /** Deadline of each call. Default 5,000 ms. */
  readonly requestTimeoutMs?: number
  /** Where the "this protocol cannot do X" notices go (once each). Default: the client's logger, else stderr; `false` silences them. */
  readonly logger?: Logger | false
}

export interface ResolvedSeedOptions {
  readonly registry: string
  readonly monitor: string
  readonly config: string
  readonly pollIntervalMs: number
  readonly requestTimeoutMs: number
  readonly logger: Logger
}

const KNOWN_KEYS = ['registry', 'monitor', 'config', 'pollIntervalMs', 'requestTimeoutMs', 'logger']

/** A center's base URL, without its trailing slashes (paths are appended). */
function centerUrl(path: string, value: unknown): string {
  httpUrl(path, value, { credentials: true })
  return (value as string).replace(/\/+$/, '')
}

export function resolveSeedOptions(options: SeedBackendOptions): ResolvedSeedOptions {
  const o = objectOption('seed', options, KNOWN_KEYS, { required: true })
  return {
    registry: centerUrl('seed.registry', o.registry),
    monitor: centerUrl('seed.monitor', o.monitor),
    config: centerUrl('seed.config', o.config),
    pollIntervalMs: durationMs('seed.pollIntervalMs', o.pollIntervalMs, { default: 1_000, min: 50 }),
    requestTimeoutMs: durationMs('seed.requestTimeoutMs', o.requestTimeoutMs, { default: 5_000 }),
    logger: resolveLoggerOption(o.logger, 'seed.logger') ?? replaceableLogger(createConsoleLogger('[governance-client seed]')),
  }
}
