/** Real node:http(s) servers on 127.0.0.1:0 for tests, stopped (connections included) by close(). */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https'
import type { Socket } from 'node:net'

export interface LocalServer {
  readonly url: string
  readonly port: number
  readonly server: Server
  /** Sockets accepted so far (open or closed). */
  readonly sockets: Socket[]
  close(): Promise<void>
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void

export async function startLocalServer(handler: Handler, tls?: HttpsOptions): Promise<LocalServer> {
  const server: Server = tls ? createHttpsServer(tls, handler) : createServer(handler)
  const sockets: Socket[] = []
  server.on(tls ? 'secureConnection' : 'connection', (s: Socket) => sockets.push(s))
  if (tls) server.on('connection', (s: Socket) => sockets.push(s))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as { port: number }).port
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    server,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

let holder: Promise<number> | undefined

/**
 * The URL of an address that refuses connections (ECONNREFUSED) for the whole test run:
 * this process keeps a listener on 127.0.0.1:P, so no other process can bind P on any
 * address, and the URL names 127.0.0.2:P, where nothing listens. Unlike a port bound and
 * released, no later server can take it.
 */
export async function refusedUrl(): Promise<string> {
  holder ??= new Promise<number>((resolve, reject) => {
    const server = createServer(() => undefined)
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.unref() // held until the test process ends, never in the way of its exit
      resolve((server.address() as { port: number }).port)
    })
  })
  return `http://127.0.0.2:${await holder}`
}
