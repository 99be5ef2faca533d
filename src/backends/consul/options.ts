/** consulBackend's options, validated when the backend is created (messages name the option). */
import type { Transport } from '../../transport/types.js'
import { checkInteger, checkNumber, checkOptionalString, fail, resolveBaseOptions, show, type RegistryBaseOptions, type ResolvedBaseOptions } from '../registry-common/options.js'

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

function checkPrefix(value: unknown): string {
  if (value === undefined) return 'governance/config/'
  if (typeof value !== 'string' || value.startsWith('/') || /[\s?#]/.test(value)) fail(`kvPrefix must be a KV path without a leading "/", whitespace, "?" or "#", got ${show(value)}`)
  return value === '' || value.endsWith('/') ? value : `${value}/`
}

export function resolveConsulOptions(options: ConsulBackendOptions): ResolvedConsulOptions {
  const base = resolveBaseOptions('consul', options)
  const token = checkOptionalString('token', options.token)
  if (token !== undefined && /\s/.test(token)) fail('token must not contain whitespace')
  return {
    ...base,
    token,
    datacenter: checkOptionalString('datacenter', options.datacenter),
    namespace: checkOptionalString('namespace', options.namespace),
    kvPrefix: checkPrefix(options.kvPrefix),
    deregisterCriticalAfterMs: checkNumber('deregisterCriticalAfterMs', options.deregisterCriticalAfterMs, 60_000, 1_000),
    blockingWaitMs: checkNumber('blockingWaitMs', options.blockingWaitMs, 60_000, 1_000, 270_000),
    watchConnections: checkInteger('watchConnections', options.watchConnections, 512, 1),
    transport: options.transport,
  }
}
