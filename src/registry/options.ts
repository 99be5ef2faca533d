/**
 * The client options that concern registration, their defaults, and eager validation.
 * The facade passes its whole option object; only the fields below are read here.
 */
import type { InstanceStatus } from '../types.js'
import { advertisedAddress, type AddressSource } from './host.js'
import { bool, durationMs, failOption, func, isPlainObject, objectOption } from '../internal/options-kit.js'
import { checkAddress, checkInstanceId, checkMetadata, checkPort, checkServiceName, checkStatus, checkTags, checkWeight, checkZone } from './validate.js'

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000
/** The default TTL is this, or three heartbeat intervals when that is longer. */
export const DEFAULT_TTL_MS = 15_000
export const DEFAULT_REGISTER_TIMEOUT_MS = 30_000
/** No drain by default: close() should not add seconds to every test and script; set it in production. */
export const DEFAULT_DRAIN_MS = 0
/** What a health check may answer: a status, or true (UP) / false (DOWN). */
export type HealthCheckResult = InstanceStatus | boolean
export type HealthCheck = () => HealthCheckResult | Promise<HealthCheckResult>

export interface ServiceOptions {
  /** Service name: `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`. */
  readonly name: string
  /** The port other services connect to (1-65535). */
  readonly port: number
  /**
   * Advertised host or IP; default: GOVERNANCE_ADDRESS, POD_IP or HOST_IP from the
   * environment (in that order), else the first non-internal IPv4 address of this machine,
   * else its first global IPv6 address.
   */
  readonly address?: string
  /** Instance id; default: generated once per client (`<name>-<12 hex>`). */
  readonly id?: string
  readonly metadata?: Readonly<Record<string, string>>
  readonly tags?: readonly string[]
  readonly zone?: string
  /** 0-1000, default 1. */
  readonly weight?: number
  /** The status to register with; default 'UP'. */
  readonly status?: InstanceStatus
}

/** The registration-related fields of the client options. */
export interface RegistryOptionsInput {
  readonly service?: ServiceOptions | undefined
  /** Time between heartbeats; default 5 000 ms. */
  readonly heartbeatIntervalMs?: number | undefined
  /** How long the server keeps the instance unrenewed; default max(15 000, 3 × heartbeatIntervalMs). */
  readonly ttlMs?: number | undefined
  /** How long `await register()` waits for the server; default 30 000 ms. */
  readonly registerTimeoutMs?: number | undefined
  /** How long close() keeps the instance listed as DOWN before deregistering; default 0. */
  readonly drainMs?: number | undefined
  /**
   * The client declares its lease lost when no renewal has succeeded for ttlMs minus this;
   * default 10% of ttlMs (at least 500 ms), capped at half the gap between ttlMs and the interval.
   */
  readonly leaseSafetyMarginMs?: number | undefined
  /** Feeds the instance status; see docs/registration.md for how it combines with setStatus(). */
  readonly healthCheck?: HealthCheck | undefined
  /** Time between health checks; default heartbeatIntervalMs. Also the check's own timeout. */
  readonly healthCheckIntervalMs?: number | undefined
  /** Close the client on SIGTERM/SIGINT, then let the process end; default false. */
  readonly handleSignals?: boolean | undefined
}

export interface ResolvedServiceOptions {
  readonly name: string
  readonly port: number
  readonly address: string
  /** True when no address was given and none but loopback was found. */
  readonly addressIsFallback: boolean
  /** Where the address came from: the option, an environment variable, an interface, loopback. */
  readonly addressSource: AddressSource | 'option'
  readonly id: string | undefined
  readonly metadata: Readonly<Record<string, string>>
  readonly tags: readonly string[]
  readonly zone: string | undefined
  readonly weight: number
  readonly status: InstanceStatus
}

export interface ResolvedRegistryOptions {
  readonly service: ResolvedServiceOptions | undefined
  readonly heartbeatIntervalMs: number
  readonly ttlMs: number
  readonly registerTimeoutMs: number
  readonly drainMs: number
  readonly leaseSafetyMarginMs: number
  readonly healthCheck: HealthCheck | undefined
  readonly healthCheckIntervalMs: number
  readonly handleSignals: boolean
}

/** The top-level client options this file reads; the facade rejects names it does not know. */
export const REGISTRY_OPTION_KEYS: readonly string[] = Object.freeze([
  'service',
  'heartbeatIntervalMs',
  'ttlMs',
  'registerTimeoutMs',
  'drainMs',
  'leaseSafetyMarginMs',
  'healthCheck',
  'healthCheckIntervalMs',
  'handleSignals',
])

const SERVICE_KEYS = ['name', 'port', 'address', 'id', 'metadata', 'tags', 'zone', 'weight', 'status']

/** Validates and completes the registration options; throws InvalidArgumentError naming the bad option. */
export function resolveRegistryOptions(raw: RegistryOptionsInput): ResolvedRegistryOptions {
  const heartbeatIntervalMs = durationMs('heartbeatIntervalMs', raw.heartbeatIntervalMs, { default: DEFAULT_HEARTBEAT_INTERVAL_MS })
  const ttlMs = durationMs('ttlMs', raw.ttlMs, { default: Math.max(DEFAULT_TTL_MS, 3 * heartbeatIntervalMs) })
  if (ttlMs <= heartbeatIntervalMs) failOption('ttlMs', `must exceed heartbeatIntervalMs (${heartbeatIntervalMs})`, ttlMs)
  return {
    service: raw.service === undefined ? undefined : resolveService(raw.service),
    heartbeatIntervalMs,
    ttlMs,
    registerTimeoutMs: durationMs('registerTimeoutMs', raw.registerTimeoutMs, { default: DEFAULT_REGISTER_TIMEOUT_MS }),
    drainMs: durationMs('drainMs', raw.drainMs, { default: DEFAULT_DRAIN_MS, min: 0 }),
    leaseSafetyMarginMs: resolveMargin(raw.leaseSafetyMarginMs, ttlMs, heartbeatIntervalMs),
    healthCheck: func<HealthCheck>('healthCheck', raw.healthCheck),
    healthCheckIntervalMs: durationMs('healthCheckIntervalMs', raw.healthCheckIntervalMs, { default: heartbeatIntervalMs }),
    handleSignals: bool('handleSignals', raw.handleSignals, false),
  }
}

function resolveMargin(raw: number | undefined, ttlMs: number, intervalMs: number): number {
  const fallback = Math.min(Math.max(500, Math.round(ttlMs / 10)), Math.floor((ttlMs - intervalMs) / 2))
  const margin = durationMs('leaseSafetyMarginMs', raw, { default: fallback, min: 0 })
  // A deadline before the first heartbeat would declare every lease lost at once.
  if (raw !== undefined && ttlMs - margin <= intervalMs) {
    failOption('leaseSafetyMarginMs', `must leave ttlMs minus the margin above heartbeatIntervalMs (${intervalMs}), i.e. be below ${ttlMs - intervalMs}`, margin)
  }
  return margin
}

function resolveService(value: unknown): ResolvedServiceOptions {
  if (!isPlainObject(value)) failOption('service', 'must be an object such as { name, port }', value)
  const raw = objectOption('service', value, SERVICE_KEYS)
  const found = raw.address === undefined ? advertisedAddress() : undefined
  return {
    name: checkServiceName('service.name', raw.name),
    port: checkPort('service.port', raw.port),
    address: found === undefined ? checkAddress('service.address', raw.address) : found.address,
    addressIsFallback: found?.source === 'loopback',
    addressSource: found?.source ?? 'option',
    id: raw.id === undefined ? undefined : checkInstanceId('service.id', raw.id),
    metadata: raw.metadata === undefined ? Object.freeze({}) : checkMetadata('service.metadata', raw.metadata),
    tags: raw.tags === undefined ? Object.freeze([]) : checkTags('service.tags', raw.tags),
    zone: raw.zone === undefined ? undefined : checkZone('service.zone', raw.zone),
    weight: raw.weight === undefined ? 1 : checkWeight('service.weight', raw.weight),
    status: raw.status === undefined ? 'UP' : checkStatus('service.status', raw.status),
  }
}
