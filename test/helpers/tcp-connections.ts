/**
 * Counts established TCP connections to given loopback ports, from /proc/net/tcp (Linux).
 * Tests and benchmarks use it to check how many connections a client holds to a server:
 * take a baseline first, since servers may hold connections of their own (etcd's gateway
 * dials its own client port).
 */
import { readFileSync } from 'node:fs'

const ESTABLISHED = '01'

export function establishedTo(ports: readonly number[]): number {
  let text: string
  try {
    text = readFileSync('/proc/net/tcp', 'utf8')
  } catch {
    return Number.NaN
  }
  const wanted = new Set(ports.map((p) => p.toString(16).toUpperCase().padStart(4, '0')))
  let n = 0
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/)
    const remote = cols[2]
    if (cols[3] === ESTABLISHED && remote !== undefined && wanted.has(remote.split(':')[1] ?? '')) n++
  }
  return n
}
