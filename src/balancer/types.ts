/**
 * The balancer contracts. As in grpc-js (load-balancer.ts / picker.ts), a balancer turns one
 * instance set into an immutable Picker, and picking is synchronous, allocation-free and
 * never throws. A new snapshot (or an ejection) builds a new picker; the old one is dropped.
 */
import type { Instance } from '../types.js'

/** Live load of one instance, kept by discovery and updated by routing's outcomes. */
export interface InstanceLoad {
  /** Requests sent to the instance that have not had their response headers yet. */
  readonly inflight: number
  /** Exponentially weighted moving average of time to response headers, ms; 0 before the first sample. */
  readonly latencyMs: number
}

/** What a balancer may consult when it builds a picker. */
export interface PickerContext {
  /** The live load record of an instance of this set (the same object for the picker's lifetime). */
  load(instance: Instance): InstanceLoad
  /** Uniform in [0, 1); Math.random unless a test injects another. */
  readonly random: () => number
}

/**
 * What one pick may ask for. Pickers read it only when it is given, so `pick()` keeps its
 * allocation-free path.
 */
export interface PickContext {
  /** Instance ids not to return (a retry elsewhere); honoured whenever another instance is left. */
  readonly exclude?: ReadonlySet<string>
  /** The request's affinity key; consistentHash() maps equal keys to the same instance, others ignore it. */
  readonly hashKey?: string
}

/**
 * Chooses one instance of a fixed set. Must not throw; undefined only when the set is empty
 * or every instance is excluded.
 */
export interface Picker {
  pick(context?: PickContext): Instance | undefined
}

/** A load-balancing policy, passed as a value (`strategy: leastRequest()`), never registered by name. */
export interface Balancer {
  /** For logs and cache keys; built-ins use 'round-robin', 'random', 'weighted', 'least-request', 'consistent-hash'. */
  readonly name: string
  /** Builds the picker for one instance set; called once per snapshot, never per pick. */
  build(instances: readonly Instance[], context: PickerContext): Picker
}

/** The built-in strategies by name, or any Balancer value. */
export type Strategy = 'round-robin' | 'random' | 'weighted' | 'least-request' | 'consistent-hash' | Balancer

/** The picker of an empty set. */
export const EMPTY_PICKER: Picker = Object.freeze({ pick: (): undefined => undefined })
