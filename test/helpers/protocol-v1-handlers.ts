/**
 * A small in-memory protocol v1 server as msw handlers (docs/protocol.md), for backend tests
 * that need to bend the server: restart it (index back near 1), or corrupt one answer.
 * Not a conformance reference: src/server/ is.
 */
import { http, HttpResponse, type RequestHandler } from 'msw'

interface StoredInstance {
  readonly id: string
  readonly service: string
  readonly body: Record<string, unknown>
}

export interface FakeProtocolV1 {
  readonly handlers: RequestHandler[]
  /** Forgets the registry and restarts the index at 1, like a restarted server. */
  restart(): void
  /** Current global index. */
  index(): bigint
  /** Received metric batches. */
  readonly batches: unknown[]
}

const error = (status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response =>
  HttpResponse.json({ error: { code, message, ...extra } }, { status, headers })

function parseWait(wait: string | null): number {
  const m = /^(\d+)(ms|s|m)$/.exec(wait ?? '')
  if (!m) return 60_000
  return Math.min(Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000), 300_000)
}

export function protocolV1Fake(base: string): FakeProtocolV1 {
  let index = 1n
  const instances = new Map<string, StoredInstance>() // key service/id
  const serviceIndex = new Map<string, bigint>()
  const config = new Map<string, { value: unknown; version: bigint }>()
  const configIndex = new Map<string, bigint>()
  const waiters = new Set<() => void>()
  const batches: unknown[] = []

  const bump = (map: Map<string, bigint>, key: string): void => {
    index += 1n
    map.set(key, index)
    for (const w of [...waiters]) w()
  }
  /** Holds a read until its resource index differs from `after` or the wait elapses. */
  async function block(url: URL, current: () => bigint): Promise<void> {
    const after = url.searchParams.get('index')
    if (after === null || after === '0' || current() !== BigInt(after)) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        waiters.delete(check)
        resolve()
      }
      const check = (): void => void (current() !== BigInt(after) && done())
      const timer = setTimeout(done, parseWait(url.searchParams.get('wait')))
      waiters.add(check)
    })
  }
  const list = (service: string): unknown[] =>
    [...instances.values()].filter((i) => i.service === service).sort((a, b) => (a.id < b.id ? -1 : 1)).map((i) => i.body)

  const handlers: RequestHandler[] = [
    http.put(`${base}/v1/services/:service/instances/:id/heartbeat`, ({ params }) => {
      const inst = instances.get(`${String(params.service)}/${String(params.id)}`)
      return inst ? HttpResponse.json({ ttlMs: inst.body.ttlMs }) : error(404, 'not_found', 'unknown instance')
    }),
    http.put(`${base}/v1/services/:service/instances/:id`, async ({ params, request }) => {
      const service = String(params.service)
      const id = String(params.id)
      const b = (await request.json()) as Record<string, unknown>
      const body = { id, service, status: 'UP', metadata: {}, tags: [], weight: 1, ...b, registeredAt: Date.now(), renewedAt: Date.now() }
      instances.set(`${service}/${id}`, { id, service, body })
      bump(serviceIndex, service)
      return HttpResponse.json({ instance: body, ttlMs: b.ttlMs, index: String(index) })
    }),
    http.delete(`${base}/v1/services/:service/instances/:id`, ({ params }) => {
      const service = String(params.service)
      const removed = instances.delete(`${service}/${String(params.id)}`)
      if (removed) bump(serviceIndex, service)
      return HttpResponse.json({ removed, index: String(index) })
    }),
    http.get(`${base}/v1/services/:service`, async ({ params, request }) => {
      const service = String(params.service)
      const current = (): bigint => serviceIndex.get(service) ?? 1n
      await block(new URL(request.url), current)
      return HttpResponse.json({ service, instances: list(service), index: String(current()) }, { headers: { 'x-governance-index': String(current()) } })
    }),
    http.get(`${base}/v1/config/:key`, async ({ params, request }) => {
      const key = String(params.key)
      const current = (): bigint => configIndex.get(key) ?? 1n
      await block(new URL(request.url), current)
      const entry = config.get(key)
      const idx = String(current())
      if (!entry) return error(404, 'not_found', `no config key ${key}`, { index: idx }, { 'x-governance-index': idx })
      return HttpResponse.json({ key, value: entry.value, version: String(entry.version), index: idx })
    }),
    http.put(`${base}/v1/config/:key`, async ({ params, request }) => {
      const key = String(params.key)
      const b = (await request.json()) as { value: unknown; ifVersion?: string }
      const stored = config.get(key)
      if (b.ifVersion !== undefined && b.ifVersion !== String(stored?.version ?? 0n)) {
        return error(409, 'conflict', `version is ${stored?.version ?? 0n}, not ${b.ifVersion}`, { currentVersion: String(stored?.version ?? 0n) })
      }
      bump(configIndex, key)
      config.set(key, { value: b.value, version: index })
      return HttpResponse.json({ key, value: b.value, version: String(index), index: String(index) })
    }),
    http.delete(`${base}/v1/config/:key`, ({ params, request }) => {
      const key = String(params.key)
      const ifVersion = new URL(request.url).searchParams.get('ifVersion')
      const stored = config.get(key)
      if (ifVersion !== null && ifVersion !== String(stored?.version ?? 0n)) {
        return error(409, 'conflict', 'version mismatch', { currentVersion: String(stored?.version ?? 0n) })
      }
      if (!stored) return error(404, 'not_found', `no config key ${key}`)
      config.delete(key)
      bump(configIndex, key)
      return HttpResponse.json({ deleted: true, index: String(index) })
    }),
    http.post(`${base}/v1/metrics`, async ({ request }) => {
      const batch = (await request.json()) as { points: unknown[] }
      batches.push(batch)
      return HttpResponse.json({ accepted: batch.points.length }, { status: 202 })
    }),
  ]

  return {
    handlers,
    batches,
    index: () => index,
    restart: () => {
      instances.clear()
      serviceIndex.clear()
      index = 1n
      for (const w of [...waiters]) w()
    },
  }
}
