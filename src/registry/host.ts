/** Defaults that come from the machine: the advertised address and a generated instance id. */
import { randomBytes } from 'node:crypto'
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>

/**
 * The first non-internal IPv4 address, in the order the OS lists interfaces; undefined when
 * the machine has none (then the caller falls back to loopback, which only local peers reach).
 */
export function firstExternalIPv4(interfaces: Interfaces = networkInterfaces()): string | undefined {
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      // Node 18.0-18.3 reported family as a number; accept both so an old shape cannot hide addresses.
      const family = info.family as unknown
      if (!info.internal && (family === 'IPv4' || family === 4)) return info.address
    }
  }
  return undefined
}

/**
 * `<service>-<12 hex>`: random rather than derived from address and port, because two
 * processes that share an address (NAT, host networking, a shared advertised name) must
 * never overwrite each other's registration. Stays within the instance id rule (128 chars).
 */
export function generateInstanceId(service: string | undefined): string {
  const suffix = randomBytes(6).toString('hex')
  const prefix = (service ?? 'client').slice(0, 128 - suffix.length - 1)
  return `${prefix}-${suffix}`
}
