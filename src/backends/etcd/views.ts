/** Turns a watched range into the values watchers get: service snapshots and config entries. */
import type { Logger } from '../../internal/logger.js'
import type { ConfigEntry, Instance, ServiceSnapshot } from '../../types.js'
import { decodeConfig } from './config.js'
import { decodeInstance } from './instance-json.js'
import type { KeyValue } from './kv.js'

/** Logs each unreadable instance key once per version, not on every read of the service. */
export class BadKeyLog {
  private readonly seen = new Set<string>()
  constructor(private readonly logger: Logger) {}

  report(kv: KeyValue, reason: string): void {
    const id = `${kv.key}@${kv.modRevision}`
    if (this.seen.has(id)) return
    if (this.seen.size >= 1_000) this.seen.clear()
    this.seen.add(id)
    this.logger.warn('etcd: skipping an instance key that is not a valid instance', { key: kv.key, reason })
  }
}

/**
 * The instances under a service prefix, sorted by id. A key that is not ours (a deeper
 * path) or not a valid instance is skipped and logged: one bad writer must not take the
 * whole service out of discovery.
 */
export function renderSnapshot(
  service: string,
  servicePrefix: string,
  kvs: Iterable<KeyValue>,
  revision: string,
  bad: BadKeyLog,
): ServiceSnapshot {
  const instances: Instance[] = []
  for (const kv of kvs) {
    const id = kv.key.slice(servicePrefix.length)
    if (!kv.key.startsWith(servicePrefix) || id === '' || id.includes('/')) continue
    const decoded = decodeInstance(kv.value, service, id)
    if (typeof decoded === 'string') bad.report(kv, decoded)
    else instances.push(decoded)
  }
  instances.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  return { service, instances, revision }
}

export function sameInstances(a: ServiceSnapshot, b: ServiceSnapshot): boolean {
  return a.instances.length === b.instances.length && JSON.stringify(a.instances) === JSON.stringify(b.instances)
}

export function renderConfig(key: string, etcdKey: string, kvs: ReadonlyMap<string, KeyValue>): ConfigEntry | undefined {
  const kv = kvs.get(etcdKey)
  return kv === undefined ? undefined : decodeConfig(key, kv)
}

export function sameConfig(a: ConfigEntry | undefined, b: ConfigEntry | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.version === b.version
}
