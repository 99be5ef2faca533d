/** consulBackend's options, validated when the backend is created (messages name the option). */
import type { Transport } from '../../transport/types.js'
import { durationMs, positiveInt, secret, string } from '../../internal/options-kit.js'
import { resolveBaseOptions, type RegistryBaseOptions, type ResolvedBaseOptions } from '../registry-common/options.js'

export interface ConsulBackendOptions extends RegistryBaseOptions {
  /** ACL token, sent as `X-Consul-Token`. */
  readonly token?: string
  /** Datacenter of reads (`?dc=`); default the agent's own. */
  readonly datacenter?: string
  /** Consul Enterprise namespace (`?ns=`). */
  readonly namespace?: string
  /** Root of the KV keys config lives under. Default `governance/config/`. */
  readonly kvPrefix?: string
  /**
   * `DeregisterCriticalServiceAfter` of the TTL check: how long after its TTL lapsed the
   * agent deletes the instance. Default 60,000 ms, Consul's minimum.
   */
  readonly deregisterCriticalAfterMs?: number
  /** `wait` of each blocking query. Default 60,000 ms; at most 270,000 (undici's 300 s header timeout). */
  readonly blockingWaitMs?: number
  /**
   * Held blocking queries at once (one per watch): the transport's `heldConnections`, a pool
   * apart from single calls. Past it a watch's query fails with RequestRejectedError (and a
   * warning) and the watch retries with backoff. Default 512, opened as needed.
   */
  readonly watchConnections?: number
  /** A transport for every call instead of creating one (tests); its own `heldConnections` apply. Not closed by the backend. */
  readonly transport?: Transport
}

export interface ResolvedConsulOptions extends ResolvedBaseOptions {
  readonly token: string | undefined
  readonly datacenter: string | undefined
  readonly namespace: string | undefined
  readonly kvPrefix: string
  readonly deregisterCriticalAfterMs: number
  readonly blockingWaitMs: number
  readonly watchConnections: number
  readonly transport: Transport | undefined
}

const KNOWN_KEYS = ['token', 'datacenter', 'namespace', 'kvPrefix', 'deregisterCriticalAfterMs', 'blockingWaitMs', 'watchConnections', 'transport']

function checkPrefix(value: unknown): string {
  if (value === '') return ''
  const prefix = string('consul.kvPrefix', value, { default: 'governance/config/', pattern: /^[^/\s?#][^\s?#]*$/, rule: 'must be a KV path without a leading "/", whitespace, "?" or "#"' })
  return prefix.endsWith('/') ? prefix : `${prefix}/`
}

export function resolveConsulOptions(options: ConsulBackendOptions): ResolvedConsulOptions {
  const { base, raw } = resolveBaseOptions('consul', options, KNOWN_KEYS)
  // eslint-disable-next-line no-control-regex
  const token = secret('consul.token', raw.token, { pattern: /^[^\s\u0000-\u001f\u007f]+$/, rule: 'must be a non-empty string without whitespace or control characters' })
  return {
    ...base,
    token,
    datacenter: string('consul.datacenter', raw.datacenter),
    namespace: string('consul.namespace', raw.namespace),
    kvPrefix: checkPrefix(raw.kvPrefix),
    deregisterCriticalAfterMs: durationMs('consul.deregisterCriticalAfterMs', raw.deregisterCriticalAfterMs, { default: 60_000, min: 1_000 }),
    blockingWaitMs: durationMs('consul.blockingWaitMs', raw.blockingWaitMs, { default: 60_000, min: 1_000, max: 270_000 }),
    watchConnections: positiveInt('consul.watchConnections', raw.watchConnections, { default: 512 }),
    transport: options.transport,
  }
}
