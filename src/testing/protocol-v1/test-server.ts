/**
 * startTestServer(): the test registry over real HTTP on a loopback port, for tests that
 * want the client's whole HTTP path (transport, retries, blocking queries) without msw.
 * An injected outage drops the connection; everything else answers as protocol v1 says.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createTestRegistry, type TestRegistry } from '../test-registry.js'
import { createProtocolV1Handler, type FetchHandler } from './router.js'
import { readRequestBody } from '../registry-fakes/fake-http.js'
import { errorAnswer } from '../../server/protocol/answer.js'
import { tooLarge } from '../../server/protocol/json-body.js'
import { send } from '../../server/respond.js'

export interface TestServerOptions {
  /** The registry to serve; default a fresh one (see `server.registry`). */
  readonly registry?: TestRegistry
  /** Default '127.0.0.1'. */
  readonly host?: string
  /** Default 0: a free port. */
  readonly port?: number
}

export interface TestServer {
  /** `http://127.0.0.1:<port>`: give it to the client as `server`. */
  readonly url: string
  readonly registry: TestRegistry
  /** Stops listening and drops every connection (held blocking queries included). Idempotent. */
  close(): Promise<void>
}

const MAX_BODY_BYTES = 1_048_576

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const registry = options.registry ?? createTestRegistry()
  const host = options.host ?? '127.0.0.1'
  const handle = createProtocolV1Handler(registry)
  const server = createServer((req, res) => void serve(handle, req, res, origin))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  let closing: Promise<void> | undefined
  return {
    url: origin,
    registry,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

async function serve(handle: FetchHandler, req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> {
  const gone = new AbortController()
  res.on('close', () => {
    if (!res.writableFinished) gone.abort()
  })
  try {
    const body = await readBody(req)
    if (body === undefined) return send(res, errorAnswer(tooLarge(MAX_BODY_BYTES)), true)
    const headers = new Headers()
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value)
    const hasBody = body.length > 0 && req.method !== 'GET' && req.method !== 'HEAD'
    const request = new Request(`${origin}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, signal: gone.signal, ...(hasBody && { body }) })
    const response = await handle(request)
    if (response.type === 'error') return void req.socket.destroy()
    res.writeHead(response.status, Object.fromEntries(response.headers))
    res.end(Buffer.from(await response.arrayBuffer()))
  } catch {
    req.socket.destroy()
  }
}

/** The body, or undefined when it is over the protocol's 1 MiB. */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return readRequestBody(req, MAX_BODY_BYTES)
}
