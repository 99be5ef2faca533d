/**
 * A loopback TCP proxy whose connections a test can cut, to break watch streams mid-flight,
 * and a stable address for a server that restarts: the proxy keeps its listening port for
 * the whole test, and each new server (on port 0) is put behind it with `retarget`. No
 * test frees a port and hopes it stays free.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  readonly url: string
  /** Destroys every open connection (both sides), like a member dying mid-stream. */
  cut(): void
  /** While paused, new connections are refused at once (the listener stays bound). */
  pause(paused: boolean): void
  /** Sends new connections to another upstream (a restarted server) and resumes. */
  retarget(target: string): void
  readonly connections: number
  /** Connections accepted so far (open or closed). */
  readonly accepted: number
  close(): Promise<void>
}

/** Without a target the proxy starts paused (a server that is not up yet). */
export async function startTcpProxy(target?: string): Promise<TcpProxy> {
  let { hostname, port } = target === undefined ? { hostname: '127.0.0.1', port: '0' } : new URL(target)
  const sockets = new Set<Socket>()
  let paused = target === undefined
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
      paused = false
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
