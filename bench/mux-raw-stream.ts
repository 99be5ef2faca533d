/**
 * One multiplexed watch (`POST /v1/watch`, protocol section 4.1) on a raw socket: decodes
 * the chunked NDJSON answer and hands each frame to `onFrame` with its arrival time. Cheap
 * enough that 1,000 of them in the bench process cost little next to the server: no HTTP
 * client, and a frame longer than FULL_TEXT_LIMIT (a service's full first frame) is passed
 * only as its head and length.
 */
import { connect, type Socket } from 'node:net'

const FULL_TEXT_LIMIT = 16 * 1024
const HEAD_CHARS = 200
const CRLF = Buffer.from('\r\n')

export interface MuxFrame {
  /** The first 200 characters: enough for `type`, the resource and `index`. */
  readonly head: string
  /** The whole line, when it is at most 16 KiB. */
  readonly text: string | undefined
  readonly bytes: number
  /** performance.now() when the frame's last byte arrived. */
  readonly at: number
}

export interface MuxStreamHandlers {
  readonly onFrame: (frame: MuxFrame) => void
  /** The stream failed or ended; the bench treats either as an error. */
  readonly onEnd: (error: Error) => void
}

export function openMuxStream(port: number, body: unknown, handlers: MuxStreamHandlers): Socket {
  const payload = JSON.stringify(body)
  const socket = connect({ port, host: '127.0.0.1' }, () =>
    socket.write(`POST /v1/watch HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`),
  )
  const decoder = new ChunkedLines(handlers.onFrame)
  let head = ''
  socket.on('data', (data: Buffer) => {
    if (head.endsWith('\r\n\r\n')) return decoder.push(data)
    const text = data.toString('latin1')
    const end = (head + text).indexOf('\r\n\r\n')
    if (end < 0) return void (head += text)
    const start = end + 4 - head.length
    head = (head + text).slice(0, end + 4)
    if (!/^HTTP\/1\.1 200/.test(head) || !/transfer-encoding: chunked/i.test(head)) {
      handlers.onEnd(new Error(`POST /v1/watch answered ${head.split('\r\n')[0]}`))
      return void socket.destroy()
    }
    decoder.push(data.subarray(start))
  })
  socket.on('error', (error) => handlers.onEnd(error))
  socket.on('close', () => handlers.onEnd(new Error('the watch stream closed')))
  return socket
}

/** Chunked transfer decoding, then NDJSON line splitting. */
class ChunkedLines {
  #raw: Buffer = Buffer.alloc(0)
  /** Data bytes left in the current chunk; -1 while its size line is awaited, -2 for the CRLF after it. */
  #left = -1
  #parts: Buffer[] = []
  readonly #onFrame: (frame: MuxFrame) => void

  constructor(onFrame: (frame: MuxFrame) => void) {
    this.#onFrame = onFrame
  }

  push(data: Buffer): void {
    this.#raw = this.#raw.length === 0 ? data : Buffer.concat([this.#raw, data])
    const at = performance.now()
    for (;;) {
      if (this.#left === -1) {
        const end = this.#raw.indexOf(CRLF)
        if (end < 0) return
        this.#left = Number.parseInt(this.#raw.subarray(0, end).toString('latin1'), 16)
        this.#raw = this.#raw.subarray(end + 2)
        if (!Number.isFinite(this.#left) || this.#left === 0) return // the last chunk: the stream ends
      } else if (this.#left === -2) {
        if (this.#raw.length < 2) return
        this.#raw = this.#raw.subarray(2)
        this.#left = -1
      } else {
        if (this.#raw.length === 0) return
        const take = Math.min(this.#left, this.#raw.length)
        this.#lines(this.#raw.subarray(0, take), at)
        this.#raw = this.#raw.subarray(take)
        this.#left -= take
        if (this.#left === 0) this.#left = -2
      }
    }
  }

  #lines(piece: Buffer, at: number): void {
    let from = 0
    for (let nl = piece.indexOf(10); nl >= 0; nl = piece.indexOf(10, from)) {
      const line = this.#parts.length === 0 ? piece.subarray(from, nl) : Buffer.concat([...this.#parts, piece.subarray(from, nl)])
      this.#parts = []
      const text = line.length <= FULL_TEXT_LIMIT ? line.toString('utf8') : undefined
      this.#onFrame({ head: text?.slice(0, HEAD_CHARS) ?? line.subarray(0, HEAD_CHARS).toString('utf8'), text, bytes: line.length, at })
      from = nl + 1
    }
    // Copied: the socket's buffer is not ours to keep.
    if (from < piece.length) this.#parts.push(Buffer.from(piece.subarray(from)))
  }
}
