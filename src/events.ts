/**
 * The client's one typed event map, named `subsystem:pastTenseFact`. Every failure event
 * has a success counterpart. Payloads are plain objects so that new fields can be added.
 */
import type { GovernanceError } from './errors.js'
import type { ConfigEntry, Instance, InstanceStatus } from './types.js'

/**
 * Where a discovery answer comes from: `live` (a feed the server keeps confirming), `memory`
 * (confirmations stopped, or superseded), `disk` (a cold start from dataDir), `protected`
 * (empty protection holds it against an empty answer after signs of lost registry data).
 */
export type SnapshotSource = 'live' | 'memory' | 'disk' | 'protected'

export interface InstanceDiff {
  readonly added: readonly Instance[]
  readonly removed: readonly Instance[]
  /** Same id, some field changed: the new version of each. */
  readonly changed: readonly Instance[]
}

export interface GovernanceEvents {
  'registry:registered': { readonly service: string; readonly instanceId: string; readonly epoch: number }
  'registry:renewed': { readonly service: string; readonly instanceId: string; readonly ttlMs: number }
  'registry:renewFailed': { readonly service: string; readonly instanceId: string; readonly failures: number; readonly error: GovernanceError }
  'registry:leaseLost': { readonly service: string; readonly instanceId: string; readonly epoch: number; readonly reason: 'server' | 'deadline' }
  'registry:statusChanged': { readonly service: string; readonly instanceId: string; readonly status: InstanceStatus }
  'registry:deregistered': { readonly service: string; readonly instanceId: string }

  'discovery:changed': {
    readonly service: string
    readonly instances: readonly Instance[]
    readonly diff: InstanceDiff
    readonly revision: string
    readonly reset: boolean
  }
  'discovery:stale': { readonly service: string; readonly ageMs: number; readonly error: GovernanceError }
  'discovery:recovered': { readonly service: string }
  'discovery:protected': {
    readonly service: string
    readonly reason: 'reset' | 'mass-expiry'
    readonly holdMs: number
    /** Usable instances of the set kept. */
    readonly instances: number
  }
  'discovery:unprotected': { readonly service: string; readonly outcome: 'recovered' | 'explicit' | 'expired'; readonly heldMs: number }

  'config:changed': {
    readonly key: string
    readonly value: unknown
    readonly previous: unknown
    readonly version: string | undefined
    readonly changedKeys: readonly string[]
  }
  'config:rejected': { readonly key: string; readonly version: string; readonly error: GovernanceError }

  'metrics:exported': { readonly sink: string; readonly batchId: string; readonly points: number }
  'metrics:exportFailed': { readonly sink: string; readonly batchId: string; readonly attempt: number; readonly error: GovernanceError }
  /** `batches` is 0 and `metrics` names them when a sink delivered a batch without some metrics. */
  'metrics:dropped': { readonly sink: string; readonly batches: number; readonly points: number; readonly reason: string; readonly metrics?: readonly string[] }

  /** Background failures that fit no other event. Also logged, since an unheard 'error' is dropped. */
  error: GovernanceError
}

export type GovernanceEventName = keyof GovernanceEvents

const EVENT_NAMES = [
  'registry:registered',
  'registry:renewed',
  'registry:renewFailed',
  'registry:leaseLost',
  'registry:statusChanged',
  'registry:deregistered',
  'discovery:changed',
  'discovery:stale',
  'discovery:recovered',
  'discovery:protected',
  'discovery:unprotected',
  'config:changed',
  'config:rejected',
  'metrics:exported',
  'metrics:exportFailed',
  'metrics:dropped',
  'error',
] as const satisfies readonly GovernanceEventName[]

// Fails to compile when an event is added to the map but not to the list above.
type IsTrue<T extends true> = T
type _EveryEventListed = IsTrue<[Exclude<GovernanceEventName, (typeof EVENT_NAMES)[number]>] extends [never] ? true : false>

/** Every event name, for checking a listener's event at run time (a misspelt one would never fire). */
export const GOVERNANCE_EVENT_NAMES: readonly GovernanceEventName[] = Object.freeze([...EVENT_NAMES])

/** How subsystems report events without holding the emitter. */
export type EmitFn = <K extends GovernanceEventName>(event: K, payload: GovernanceEvents[K]) => void

/** The configuration entry as watchers see it; re-exported for convenience. */
export type { ConfigEntry }
