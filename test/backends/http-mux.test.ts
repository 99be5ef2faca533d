/**
 * The http backend's multiplexed watch against scripted servers: what a real server never
 * does (a resource limit of 2, garbage frames, a diff from the wrong index) must end in a
 * typed error or a fallback, never a crash, a hang or a silently dropped watch.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { Backend } from '../../src/backend.js'
import { httpBackend } from '../../src/backends/http/index.js'
import { ProtocolError } from '../../src/errors.js'
import type { ServiceSnapshot } from '../../src/types.js'
import { startLocalServer, type LocalServer } from '../helpers/local-server.js'
import { WatchRecorder, eventually } from './watch-recorder.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

const inst = (service: string, id: string, port = 80) => ({ id, service, address: '10.0.0.1', port, status: 'UP', metadata: {}, tags: [], weight: 1 })

type Stream = (res: ServerResponse, resources: { service?: string; index: string }[], opened: number) => void

/** A server whose `POST /v1/watch` runs `stream`; blocking GETs answer at once (index 5), then hold. */
async function scriptedServer(stream: Stream, limit = 100): Promise<{ server: LocalServer; opens: () => number; gets: string[] }> {
  let opened = 0
  const gets: string[] = []
  const server = await startLocalServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c))
    req.on('end', () => {
      const url = new URL(req.url!, 'http://x')
      if (req.method === 'POST' && url.pathname === '/v1/watch') {
        const { resources } = JSON.parse(body)
        if (resources.length > limit) {
          res.writeHead(400, { 'content-type': 'application/json' })
          return res.end(JSON.stringify({ error: { code: 'too_many_resources', message: 'too many', limit: String(limit) } }))
        }
        res.writeHead(200, { 'content-type': 'application/x-ndjson' })
        res.write('{"type":"open","index":"5","keepAliveMs":200,"resources":1}\n')
        return stream(res, resources, ++opened)
      }
      const service = url.pathname.split('/')[3]!
      gets.push(`${service}?${url.searchParams}`)
      if (url.searchParams.get('index')) return // held until the client goes
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ service, instances: [inst(service, `${service}-1`)], index: '5' }))
    })
  })
  cleanups.push(() => server.close())
  return { server, opens: () => opened, gets }
}

function backend(url: string, warnings: string[] = []): Backend {
  const logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (m: string) => void warnings.push(m) }
  const b = httpBackend({ server: url, watchKeepAliveMs: 200, logger })
  cleanups.push(() => b.close())
  return b
}

const full = (service: string, index: string, ids: string[]) =>
  `${JSON.stringify({ type: 'service', service, index, reset: false, full: true, instances: ids.map((id) => inst(service, id)) })}\n`

describe('http backend: multiplexed watch against scripted servers', () => {
  it('watches past the server limit go to blocking queries, with a warning; none is dropped', async () => {
    const { server, gets } = await scriptedServer((res, resources) => {
      for (const r of resources) res.write(full(r.service!, '5', [`${r.service}-1`]))
    }, 2)
    const warnings: string[] = []
    const client = backend(server.url, warnings)
    const recs = ['a', 'b', 'c'].map((name) => {
      const rec = new WatchRecorder<ServiceSnapshot>()
      client.watchService!(name, rec)
      return rec
    })
    await Promise.all(recs.map((rec, i) => rec.until((s) => s.instances[0]?.id === `${'abc'[i]}-1`)))
    expect(gets.some((g) => g.startsWith('c?'))).toBe(true)
    expect(warnings.some((w) => /more watched resources than the server carries/.test(w))).toBe(true)
  })

  it('a garbage frame is a ProtocolError on the watcher; the stream re-opens and carries on', async () => {
    const { server, opens } = await scriptedServer((res, resources, opened) => {
      res.write(opened === 1 ? '{"type":"service","service":"a","index":"zz"}\n' : full(resources[0]!.service!, '6', ['a-1']))
    })
    const rec = new WatchRecorder<ServiceSnapshot>()
    backend(server.url).watchService!('a', rec)
    await rec.until((s) => s.instances.length === 1)
    expect(rec.errors[0]).toBeInstanceOf(ProtocolError)
    expect(opens()).toBe(2)
  })

  it('applies diffs to full snapshots; a diff from the wrong index re-opens asking for the full set', async () => {
    const asked: string[] = []
    const { server } = await scriptedServer((res, resources, opened) => {
      asked.push(resources[0]!.index)
      if (opened === 1) {
        res.write(full('a', '6', ['a-1', 'a-2']))
        res.write(`${JSON.stringify({ type: 'service', service: 'a', index: '7', reset: false, full: false, from: '6', upsert: [inst('a', 'a-3')], remove: ['a-1'] })}\n`)
        res.write(`${JSON.stringify({ type: 'service', service: 'a', index: '9', reset: false, full: false, from: '8', upsert: [], remove: ['a-2'] })}\n`)
      } else res.write(full('a', '9', ['a-3']))
    })
    const rec = new WatchRecorder<ServiceSnapshot>()
    backend(server.url).watchService!('a', rec)
    const diffed = await rec.until((s) => s.revision === '7')
    expect(diffed.value.instances.map((i) => i.id).sort()).toEqual(['a-2', 'a-3'])
    await rec.until((s) => s.revision === '9')
    expect(rec.errors[0]).toBeInstanceOf(ProtocolError)
    expect(asked).toEqual(['0', '0'])
  })

  it('keep-alives confirm every watch; silence past the bound is a TimeoutError and a re-open', async () => {
    const { server, opens } = await scriptedServer((res, resources, opened) => {
      res.write(full(resources[0]!.service!, '5', []))
      if (opened === 1) {
        const timer = setInterval(() => res.write('{"type":"keepalive","index":"5"}\n'), 100)
        setTimeout(() => clearInterval(timer), 600) // then silence, the socket left open
        res.on('close', () => clearInterval(timer))
      }
    })
    let confirmations = 0
    const rec = Object.assign(new WatchRecorder<ServiceSnapshot>(), { confirmed: () => void confirmations++ })
    backend(server.url).watchService!('a', rec)
    await eventually(() => rec.errors.length > 0, 6_000, 'a silence error')
    expect(rec.errors[0]!.name).toBe('TimeoutError')
    expect(confirmations).toBeGreaterThanOrEqual(3)
    await eventually(() => opens() === 2, 3_000, 'a re-open')
  })
})
