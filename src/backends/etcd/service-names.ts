/**
 * listServices for etcd: a keys-only range over `<prefix>/services/`, read in pages of
 * `pageSize` keys at one pinned revision, so a big registry is never one huge answer and
 * every page sees the same store.
 */
import type { CallContext } from '../../backend.js'
import { INSTANCE_ID_PATTERN, SERVICE_NAME_PATTERN } from '../../internal/names.js'
import type { Gateway } from './gateway.js'
import { isCompactedError, range, type KeyValue } from './kv.js'

/** Keys per range answer. */
export const SERVICE_LIST_PAGE_SIZE = 1_000
/** A compaction past the pinned revision between two pages restarts the listing this often. */
const ATTEMPTS = 3

/** Instance counts by service name, of every service with at least one instance key. */
export async function countServiceInstances(
  gateway: Gateway,
  servicesPrefix: string,
  ctx: CallContext,
  pageSize = SERVICE_LIST_PAGE_SIZE,
): Promise<Map<string, number>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readAllPages(gateway, servicesPrefix, ctx, pageSize)
    } catch (error) {
      if (!isCompactedError(error) || attempt >= ATTEMPTS) throw error
    }
  }
}

async function readAllPages(gateway: Gateway, servicesPrefix: string, ctx: CallContext, pageSize: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  let revision: string | undefined
  let from: string | undefined
  for (;;) {
    const options = { prefix: true, keysOnly: true, limit: pageSize, ...(revision === undefined ? {} : { revision }), ...(from === undefined ? {} : { from }) }
    const page = await range(gateway, servicesPrefix, options, ctx)
    revision ??= page.revision
    for (const kv of page.kvs) countKey(counts, servicesPrefix, kv)
    const last = page.kvs.at(-1)
    if (!page.more || last === undefined) return counts
    // The smallest key after the last one read.
    from = `${last.key}\0`
  }
}

/** `<service>/<instanceId>` under the prefix counts; deeper paths and foreign names are not ours. */
function countKey(counts: Map<string, number>, servicesPrefix: string, kv: KeyValue): void {
  if (!kv.key.startsWith(servicesPrefix)) return
  const rest = kv.key.slice(servicesPrefix.length).split('/')
  if (rest.length !== 2) return
  const [service, id] = rest as [string, string]
  if (!SERVICE_NAME_PATTERN.test(service) || !INSTANCE_ID_PATTERN.test(id)) return
  counts.set(service, (counts.get(service) ?? 0) + 1)
}
