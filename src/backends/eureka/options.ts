/** eurekaBackend's options, validated when the backend is created (messages name the option). */
import { durationMs } from '../../internal/options-kit.js'
import { resolveBaseOptions, type RegistryBaseOptions, type ResolvedBaseOptions } from '../registry-common/options.js'

export interface EurekaBackendOptions extends RegistryBaseOptions {
  /**
   * Base URL(s) up to, not including, `/apps`: `http://host:8761/eureka` for Spring Cloud,
   * `http://host:8080/eureka/v2` for the Netflix WAR.
   */
  readonly url?: string
  /**
   * How often watches fetch the registry delta. Default 5,000 ms (the Java client's is
   * 30,000; the server's read cache refreshes every 30 s, which bounds freshness anyway).
   */
  readonly registryFetchIntervalMs?: number
}

export interface ResolvedEurekaOptions extends ResolvedBaseOptions {
  readonly registryFetchIntervalMs: number
}

export function resolveEurekaOptions(options: EurekaBackendOptions): ResolvedEurekaOptions {
  const { base, raw } = resolveBaseOptions('eureka', options, ['registryFetchIntervalMs'])
  return {
    ...base,
    registryFetchIntervalMs: durationMs('eureka.registryFetchIntervalMs', raw.registryFetchIntervalMs, { default: 5_000, min: 10 }),
  }
}
