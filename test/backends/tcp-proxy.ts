/** A loopback TCP proxy whose connections a test can cut, to break watch streams mid-flight. */
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  readonly url: string
  /** Destroys every open connection (both sides), like a member dying mid-stream. */
  cut(): void
  /** While paused, new connections are refused at once (the listener stays bound). */
  pause(paused: boolean): void
  /** New connections go to this server from now on (a server restarted on another port). */
  retarget(target: string): void
  readonly connections: number
  /** Connections accepted so far (open or closed). */
  readonly accepted: number
  close(): Promise<void>
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  let { hostname, port } = new URL(target)
  const sockets = new Set<Socket>()
  let paused = false
  let accepted = 0
  const server: Server = createServer((client) => {
    if (paused) {
      client.destroy()
      return
    }
    accepted++
    const upstream = connect(Number(port), hostname)
    sockets.add(client)
    sockets.add(upstream)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', drop).on('close', drop)
    upstream.on('error', drop).on('close', drop)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('proxy has no address')
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      for (const s of sockets) s.destroy()
      sockets.clear()
    },
    pause(p) {
      paused = p
    },
    retarget(next) {
      ;({ hostname, port } = new URL(next))
    },
    get connections() {
      return sockets.size / 2
    },
    get accepted() {
      return accepted
    },
    close() {
      for (const s of sockets) s.destroy()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
