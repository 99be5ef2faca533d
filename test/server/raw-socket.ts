/** Raw TCP helpers for the server tests: requests Node's HTTP clients would not send, from chosen loopback addresses. */
import { connect, type Socket } from 'node:net'
import { onCleanup } from './helpers.js'

/** Sends `text` and resolves with everything read until the server closes or `timeoutMs` passes. */
export function rawRequest(port: number, text: string, options: { localAddress?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) }, () => socket.write(text))
    let out = ''
    const timer = setTimeout(() => socket.destroy(), options.timeoutMs ?? 3_000)
    socket.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(out)
    })
  })
}

/** Opens a connection and keeps it open (closed after the test); resolves once connected. */
export function openIdle(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) }, () => resolve(socket))
    socket.on('error', reject)
    onCleanup(async () => void socket.destroy())
  })
}

/** The status code of a raw HTTP answer, or 0 when there is none. */
export const rawStatus = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)
