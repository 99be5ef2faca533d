/**
 * startNacosFake(): a Nacos server's v1 open API (naming, config, login) in process, over
 * real HTTP on 127.0.0.1, built from Nacos's controllers and checked against the official
 * `nacos` npm client. See docs/backends/nacos.md.
 */
import { startFakeHttp, type FakeFaults } from '../registry-fakes/fake-http.js'
import { FakeConfigs } from './config.js'
import { FakeNaming } from './naming.js'
import { routeNacos } from './routes.js'

export interface NacosFakeOptions {
  /** Turns auth on: user name → password. Calls then need a token from /nacos/v1/auth/login. */
  readonly users?: Readonly<Record<string, string>>
  /** `tokenTtl` of issued tokens, seconds. Nacos's default: 18,000. */
  readonly tokenTtlSeconds?: number
  /** `cacheMillis` in instance lists (how often clients poll). Default 3,000. */
  readonly cacheMillis?: number
  /** How often the health checker runs. Default 200 ms (Nacos: 5 s). */
  readonly healthCheckIntervalMs?: number
  /** Cap on a listener's hold, for quick tests. Default: none (Long-Pulling-Timeout − 500 ms). */
  readonly maxHoldMs?: number
  /** How long a service without instances stays listed. Default 60,000 ms, as Nacos's cleaner. */
  readonly emptyServiceCleanMs?: number
}

export interface NacosFake {
  /** `http://127.0.0.1:<port>`: give it as the backend's url (the `/nacos` context path is added by clients). */
  readonly url: string
  readonly faults: FakeFaults
  /** Forgets one instance (lease loss: expiry, a server restart, another node). */
  loseInstance(namespace: string, groupedService: string, ip: string, port: number, cluster?: string): void
  /** Every issued token stops working (token expiry / secret rotation). */
  expireTokens(): void
  /** A restart without persistence: every instance, config and token is gone. */
  wipe(): void
  requests(pathPrefix?: string): number
  close(): Promise<void>
}

/**
 * @example
 * const nacos = await startNacosFake({ users: { nacos: 'nacos' } })
 * const backend = nacosBackend({ url: nacos.url, username: 'nacos', password: 'nacos' })
 */
export async function startNacosFake(options: NacosFakeOptions = {}): Promise<NacosFake> {
  const naming = new FakeNaming(options.emptyServiceCleanMs)
  const configs = new FakeConfigs()
  const tokens = new Map<string, number>()
  const state = {
    naming,
    configs,
    users: options.users === undefined ? undefined : new Map(Object.entries(options.users)),
    tokens,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 18_000,
    cacheMillis: options.cacheMillis ?? 3_000,
    maxHoldMs: options.maxHoldMs ?? Number.MAX_SAFE_INTEGER,
  }
  const http = await startFakeHttp((req) => routeNacos(state, req))
  const checker = setInterval(() => naming.check(Date.now()), options.healthCheckIntervalMs ?? 200)
  checker.unref()
  return {
    url: http.url,
    faults: http.faults,
    loseInstance(namespace, groupedService, ip, port, cluster = 'DEFAULT') {
      naming.deregister(namespace, groupedService, ip, port, cluster)
    },
    expireTokens: () => tokens.clear(),
    wipe() {
      naming.spaces.clear()
      configs.clear()
      tokens.clear()
    },
    requests: (prefix) => http.requests(prefix),
    async close() {
      clearInterval(checker)
      await http.close()
    },
  }
}
