/** Writes answers to node:http responses: one place for the index header, content type and connection handling. */
import type { ServerResponse } from 'node:http'
import { INDEX_HEADER, JSON_CONTENT_TYPE, type Answer } from './protocol/answer.js'

/**
 * Sends `answer` unless the response is already finished or its socket is gone.
 * `close` asks the client to open a new connection next time (shutdown, unread body).
 */
export function send(res: ServerResponse, answer: Answer, close: boolean): void {
  if (res.headersSent || res.destroyed || res.writableEnded) return
  if (answer.drop === true) return void res.destroy()
  if (answer.stream !== undefined) return answer.stream(res)
  // One writeHead with a flat list: setHeader would validate and store each header in a
  // map that is only read back to write the head. The extra headers (Allow,
  // WWW-Authenticate) never repeat the fixed ones, so nothing needs overriding.
  const head = ['content-type', answer.contentType ?? JSON_CONTENT_TYPE, 'content-length', String(Buffer.byteLength(answer.text)), 'cache-control', 'no-store']
  if (answer.index !== undefined) head.push(INDEX_HEADER, answer.index)
  const extra = answer.headers
  if (extra !== undefined) for (const name in extra) head.push(name, extra[name]!)
  if (close) head.push('connection', 'close')
  res.writeHead(answer.status, head)
  res.end(answer.text)
}
