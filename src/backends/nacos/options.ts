/** nacosBackend's options, validated when the backend is created (messages name the option). */
import { checkInteger, checkNumber, checkOptionalString, fail, resolveBaseOptions, type RegistryBaseOptions, type ResolvedBaseOptions } from '../registry-common/options.js'

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

export function resolveNacosOptions(options: NacosBackendOptions): ResolvedNacosOptions {
  const base = resolveBaseOptions('nacos', options)
  const username = checkOptionalString('username', options.username)
  const password = checkOptionalString('password', options.password)
  if ((username === undefined) !== (password === undefined)) fail('username and password must be given together')
  const contextPath = checkOptionalString('contextPath', options.contextPath) ?? '/nacos'
  if (!contextPath.startsWith('/') || /[\s?#]/.test(contextPath)) fail(`contextPath must start with "/" and hold no whitespace, "?" or "#", got ${JSON.stringify(contextPath)}`)
  const group = checkOptionalString('group', options.group) ?? 'DEFAULT_GROUP'
  if (group.includes('@@')) fail('group must not contain "@@" (Nacos joins group and service with it)')
  return {
    ...base,
    contextPath: contextPath.replace(/\/+$/, ''),
    namespace: checkOptionalString('namespace', options.namespace) ?? 'public',
    group,
    cluster: checkOptionalString('cluster', options.cluster) ?? 'DEFAULT',
    credentials: username === undefined ? undefined : { username, password: password! },
    pollIntervalMs: options.pollIntervalMs === undefined ? undefined : checkNumber('pollIntervalMs', options.pollIntervalMs, 0, 10),
    longPollTimeoutMs: checkNumber('longPollTimeoutMs', options.longPollTimeoutMs, 30_000, 10_500, 270_000),
    watchConnections: checkInteger('watchConnections', options.watchConnections, 512, 1),
  }
}
