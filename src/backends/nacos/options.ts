/** nacosBackend's options, validated when the backend is created (messages name the option). */
import { durationMs, failOption, positiveInt, secret, string } from '../../internal/options-kit.js'
import { resolveBaseOptions, type RegistryBaseOptions, type ResolvedBaseOptions } from '../registry-common/options.js'

export interface NacosBackendOptions extends RegistryBaseOptions {
  /** Server root(s), e.g. `http://nacos:8848` (the context path is added: see contextPath). */
  readonly url?: string
  /** Nacos's context path. Default `/nacos`. */
  readonly contextPath?: string
  /** Namespace id. Default `public` (sent as tenant "" to the config API, as Nacos expects). */
  readonly namespace?: string
  /** Group of services and config. Default `DEFAULT_GROUP`. */
  readonly group?: string
  /** Cluster the instances register in. Default `DEFAULT`. */
  readonly cluster?: string
  /** With auth on: the backend logs in and refreshes its token before `tokenTtl` runs out. */
  readonly username?: string
  readonly password?: string
  /** How often service watches poll; default the server's `cacheMillis` (at least 100 ms). */
  readonly pollIntervalMs?: number
  /** `Long-Pulling-Timeout` of config listeners. Default 30,000 ms (Nacos holds it − 500 ms). */
  readonly longPollTimeoutMs?: number
  /**
   * Held listener requests at once (one per config watch): the transport's `heldConnections`,
   * a pool apart from single calls. Past it a listener fails with RequestRejectedError (and a
   * warning) and the watch retries with backoff. Default 512, opened as needed.
   */
  readonly watchConnections?: number
}

export interface ResolvedNacosOptions extends ResolvedBaseOptions {
  readonly contextPath: string
  readonly namespace: string
  readonly group: string
  readonly cluster: string
  readonly credentials: { readonly username: string; readonly password: string } | undefined
  readonly pollIntervalMs: number | undefined
  readonly longPollTimeoutMs: number
  readonly watchConnections: number
}

const KNOWN_KEYS = ['contextPath', 'namespace', 'group', 'cluster', 'username', 'password', 'pollIntervalMs', 'longPollTimeoutMs', 'watchConnections']

export function resolveNacosOptions(options: NacosBackendOptions): ResolvedNacosOptions {
  const { base, raw } = resolveBaseOptions('nacos', options, KNOWN_KEYS)
  const username = string('nacos.username', raw.username)
  // eslint-disable-next-line no-control-regex
  const password = secret('nacos.password', raw.password, { pattern: /^[^\u0000-\u001f\u007f]+$/, rule: 'must be a non-empty string without control characters' })
  if ((username === undefined) !== (password === undefined)) failOption('nacos.username', 'and nacos.password must be given together', username)
  const contextPath = string('nacos.contextPath', raw.contextPath, { default: '/nacos', pattern: /^\/[^\s?#]*$/, rule: 'must start with "/" and hold no whitespace, "?" or "#"' })
  const group = string('nacos.group', raw.group, { default: 'DEFAULT_GROUP', pattern: /^(?!.*@@)/, rule: 'must be a non-empty string without "@@" (Nacos joins group and service with it) or control characters' })
  return {
    ...base,
    contextPath: contextPath.replace(/\/+$/, ''),
    namespace: string('nacos.namespace', raw.namespace, { default: 'public' }),
    group,
    cluster: string('nacos.cluster', raw.cluster, { default: 'DEFAULT' }),
    credentials: username === undefined ? undefined : { username, password: password! },
    pollIntervalMs: durationMs('nacos.pollIntervalMs', raw.pollIntervalMs, { min: 10 }),
    longPollTimeoutMs: durationMs('nacos.longPollTimeoutMs', raw.longPollTimeoutMs, { default: 30_000, min: 10_500, max: 270_000 }),
    watchConnections: positiveInt('nacos.watchConnections', raw.watchConnections, { default: 512 }),
  }
}
