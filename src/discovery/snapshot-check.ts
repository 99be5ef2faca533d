/** What discovery accepts from a backend as a service snapshot: anything else is a ProtocolError. */
import { ProtocolError } from '../errors.js'
import { describeValue } from '../internal/describe.js'
import { INSTANCE_STATUSES, isRevision, type ServiceSnapshot } from '../types.js'

/**
 * A backend must hand over well-formed snapshots; anything else is a protocol error, not a
 * crash further down (a null instance in a picker) and not garbage handed to the application
 * (a port "9"). The protocol v1 backend decodes strictly already; third-party ones may not.
 */
export function checkSnapshot(value: ServiceSnapshot, service: string): ServiceSnapshot {
  const problem =
    typeof value !== 'object' || value === null
      ? `no snapshot object (${describeValue(value)})`
      : !Array.isArray(value.instances)
        ? `instances is ${describeValue(value.instances)}, not an array`
        : !isRevision(value.revision)
          ? `revision ${describeValue(value.revision)} is not a decimal string`
          : instancesProblem(value.instances)
  if (problem !== undefined) {
    throw new ProtocolError(`the backend answered a malformed snapshot for ${service}: ${problem}`, { details: { service } })
  }
  return value
}

const STATUSES: ReadonlySet<unknown> = new Set(INSTANCE_STATUSES)

function instancesProblem(instances: readonly unknown[]): string | undefined {
  for (let i = 0; i < instances.length; i++) {
    const problem = instanceProblem(instances[i])
    if (problem !== undefined) return `instances[${i}]${problem}`
  }
  return undefined
}

function instanceProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return ` is ${describeValue(value)}, not an instance`
  const o = value as Record<string, unknown>
  if (typeof o.id !== 'string' || o.id === '') return `.id is ${describeValue(o.id)}, not a non-empty string`
  if (typeof o.service !== 'string') return `.service is ${describeValue(o.service)}, not a string`
  if (typeof o.address !== 'string' || o.address === '') return `.address is ${describeValue(o.address)}, not a non-empty string`
  if (typeof o.port !== 'number' || !Number.isInteger(o.port) || o.port < 1 || o.port > 65_535) return `.port is ${describeValue(o.port)}, not an integer from 1 to 65535`
  if (!STATUSES.has(o.status)) return `.status is ${describeValue(o.status)}, not one of ${INSTANCE_STATUSES.join(', ')}`
  if (typeof o.weight !== 'number' || !Number.isFinite(o.weight) || o.weight < 0) return `.weight is ${describeValue(o.weight)}, not a number >= 0`
  if (!Array.isArray(o.tags) || o.tags.some((t) => typeof t !== 'string')) return `.tags is ${describeValue(o.tags)}, not an array of strings`
  if (typeof o.metadata !== 'object' || o.metadata === null || Object.values(o.metadata).some((v) => typeof v !== 'string')) {
    return `.metadata is ${describeValue(o.metadata)}, not an object of strings`
  }
  if (o.zone !== undefined && typeof o.zone !== 'string') return `.zone is ${describeValue(o.zone)}, not a string`
  return undefined
}
