/** An HTTP/1.1 error answer written straight to a socket, for requests no handler sees. */
import { STATUS_CODES } from 'node:http'

export function rawErrorResponse(status: number, error: { code: string; message: string; [member: string]: string }, headers: Record<string, string> = {}): string {
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')
  const body = JSON.stringify({ error })
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\n${extra}connection: close\r\n\r\n${body}`
  )
}
