/** seedBackend's options, validated when the backend is created (messages name the option). */
import { InvalidArgumentError } from '../../errors.js'
import { createConsoleLogger, replaceableLogger, resolveLoggerOption, type Logger } from '../../internal/logger.js'
import { describeValue } from '../../internal/describe.js'

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

const show = describeValue

function checkUrl(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(`${name} must be a URL string, got ${show(value)}`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidArgumentError(`${name} is not a valid URL: ${show(value)}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`${name} must be an http(s) URL, got ${show(value)}`)
  if (url.search !== '' || url.hash !== '') throw new InvalidArgumentError(`${name} must not have a query or fragment, got ${show(value)}`)
  return value.replace(/\/+$/, '')
}

function checkNumber(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidArgumentError(`${name} must be a number >= ${min}, got ${show(value)}`)
  }
  return value
}

export function resolveSeedOptions(options: SeedBackendOptions): ResolvedSeedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError(`seedBackend options must be an object, got ${show(options)}`)
  return {
    registry: checkUrl('registry', options.registry),
    monitor: checkUrl('monitor', options.monitor),
    config: checkUrl('config', options.config),
    pollIntervalMs: checkNumber('pollIntervalMs', options.pollIntervalMs, 1_000, 50),
    requestTimeoutMs: checkNumber('requestTimeoutMs', options.requestTimeoutMs, 5_000, 1),
    logger: resolveLoggerOption(options.logger) ?? replaceableLogger(createConsoleLogger('[governance-client seed]')),
  }
}
