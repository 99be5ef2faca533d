/**
 * node:http wiring, the reference server's adapter of the protocol handler: requests in,
 * answers out; connection limits, answers to malformed HTTP, and graceful close.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { ConnectionGuard } from './connection-guard.js'
import type { ServerLimits } from './limits.js'
import { rawErrorResponse } from './raw-response.js'
import type { ServerStats } from './server-stats.js'
import type { Logger } from '../internal/logger.js'
import { HttpError, badRequest } from './http-error.js'
import { NodeRequest } from './node-request.js'
import type { ProtocolHandler } from './protocol/protocol-handler.js'
import { send } from './respond.js'
import { parseTarget } from './router.js'

export interface HttpServerOptions {
  /** Protocol v1 with the server's own routes: everything but the console and malformed HTTP. */
  readonly handler: ProtocolHandler
  readonly maxBodyBytes: number
  readonly logger: Logger
  readonly closeGraceMs: number
  readonly limits: ServerLimits
  readonly stats: ServerStats
  /** Serves non-API paths (the console) before routing; true when it answered. */
  readonly assets?: (req: IncomingMessage, res: ServerResponse) => boolean
}

export class HttpServer {
  readonly #server: Server
  readonly #options: HttpServerOptions
  #closing = false

  constructor(options: HttpServerOptions) {
    this.#options = options
    const { limits, stats } = options
    this.#server = createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        // Node checks the two deadlines on this timer (30 s by default, which let slow
        // connections live 30 s past them); a second keeps them within a second of the docs.
        connectionsCheckingInterval: 1_000,
        // A missing Host is answered in the protocol's error shape by #dispatch, not with an empty 400.
        requireHostHeader: false,
      },
      (req, res) => void this.#handle(req, res),
    )
    const guard = new ConnectionGuard(limits, stats)
    this.#server.on('connection', (socket: Socket) => guard.admit(socket))
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => answerClientError(error, socket, stats))
    this.#server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => {})
      socket.end(rawErrorResponse(405, { code: 'method_not_allowed', message: 'CONNECT is not supported: this is not a proxy' }, { allow: 'GET, HEAD, PUT, POST, DELETE' }))
    })
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error)
      this.#server.once('error', onError)
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError)
        this.#server.on('error', (error) => this.#options.logger.error('http server error', { error }))
        resolve(this.#server.address() as AddressInfo)
      })
    })
  }

  /**
   * Stops accepting and answers new requests with 503; resolves once every connection is
   * gone. Connections still busy after the grace period are cut.
   */
  close(): Promise<void> {
    this.#closing = true
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    this.#server.closeIdleConnections()
    const timer = setTimeout(() => this.#server.closeAllConnections(), this.#options.closeGraceMs)
    timer.unref()
    return closed.finally(() => clearTimeout(timer))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { handler, maxBodyBytes } = this.#options
    try {
      if (this.#closing) throw new HttpError(503, 'unavailable', 'the server is shutting down')
      if (this.#options.assets?.(req, res)) return
      if (req.headers.host === undefined && req.httpVersionMinor >= 1) throw badRequest('an HTTP/1.1 request needs a Host header')
      const answer = await handler.handle(new NodeRequest(req, res, parseTarget(req.url ?? '/'), maxBodyBytes))
      send(res, answer, this.#closing || answer.close === true)
    } catch (error) {
      const answer = handler.answerError(error)
      send(res, answer, this.#closing || answer.close === true)
    }
  }
}

/** Malformed or too slow HTTP never reaches a handler; answer it in the protocol's error shape anyway. */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket, stats: ServerStats): void {
  const slow = error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
  if (slow) stats.refuse('slowConnectionsClosed', 'closed a connection whose request did not arrive in time', { client: socket.remoteAddress })
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : slow ? 408 : tooBigChunk(error) ? 413 : 400
  const code = status === 413 ? 'payload_too_large' : 'bad_request'
  socket.end(rawErrorResponse(status, { code, message: `malformed HTTP request (${error.code ?? 'parse error'})` }))
}

/** llhttp refuses a chunk size that overflows its 64-bit counter. */
function tooBigChunk(error: NodeJS.ErrnoException): boolean {
  return error.code === 'HPE_INVALID_CHUNK_SIZE' && /overflow/i.test(error.message)
}
