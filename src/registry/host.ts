/** Defaults that come from the machine: the advertised address and a generated instance id. */
import { randomBytes } from 'node:crypto'
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os'
import { checkAddress } from './validate.js'

type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>

/**
 * Where a container platform tells a process its address, in the order they win:
 * GOVERNANCE_ADDRESS (set it yourself), POD_IP and HOST_IP (the Kubernetes downward API's
 * `status.podIP` / `status.hostIP`, by convention). An interface is guessed only without them.
 */
export const ADDRESS_ENV_VARS = ['GOVERNANCE_ADDRESS', 'POD_IP', 'HOST_IP'] as const

export type AddressSource = (typeof ADDRESS_ENV_VARS)[number] | 'interface' | 'loopback'

export interface AdvertisedAddress {
  readonly address: string
  /** Which rule found it; 'loopback' means only this machine can reach it. */
  readonly source: AddressSource
}

/**
 * The address to register when `service.address` is not given: the first of
 * ADDRESS_ENV_VARS that is set (an invalid value throws, naming the variable), else the
 * first external IPv4, else the first external global IPv6 (IPv6-only hosts), else loopback
 * (`::1` on a host without IPv4 loopback).
 */
export function advertisedAddress(env: NodeJS.ProcessEnv = process.env, interfaces: Interfaces = networkInterfaces()): AdvertisedAddress {
  for (const name of ADDRESS_ENV_VARS) {
    const value = env[name]?.trim()
    if (value !== undefined && value !== '') return { address: checkAddress(`environment variable ${name}`, unbracket(value)), source: name }
  }
  const found = firstExternalIPv4(interfaces) ?? firstExternalIPv6(interfaces)
  if (found !== undefined) return { address: found, source: 'interface' }
  return { address: hasIPv4Loopback(interfaces) ? '127.0.0.1' : '::1', source: 'loopback' }
}

/** `[fd00::1]` → `fd00::1`: instances carry bare IPv6 literals, URLs bracket them. */
function unbracket(value: string): string {
  return value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value
}

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
 * The first non-internal IPv6 address that others can reach without a zone index: link-local
 * `fe80::/10` addresses need one (`%eth0`), which other hosts do not share.
 */
export function firstExternalIPv6(interfaces: Interfaces = networkInterfaces()): string | undefined {
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      const family = info.family as unknown
      if (!info.internal && (family === 'IPv6' || family === 6) && !/^fe[89ab]/i.test(info.address)) return info.address
    }
  }
  return undefined
}

function hasIPv4Loopback(interfaces: Interfaces): boolean {
  const all = Object.values(interfaces).flatMap((infos) => infos ?? [])
  // No interface list at all (a sandbox): assume the usual IPv4 loopback.
  return all.length === 0 || all.some((info) => info.internal && (info.family === 'IPv4' || (info.family as unknown) === 4))
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
