/**
 * Lasting subscriptions to a service (gov.subscribe): the first state, then every change with
 * its diff. Each subscriber diffs against what it was last given, so a subscriber that joins
 * between two coalesced announcements still gets a truthful chain. The iterator form keeps
 * only the newest pending state: a slow consumer folds changes, memory stays bounded.
 */
import type { InstanceDiff } from '../events.js'
import type { Instance, ServiceSnapshot } from '../types.js'
import { diffInstances, isEmptyDiff } from './diff.js'

/** One delivery to a subscriber. */
export interface ServiceChange {
  readonly service: string
  /** The full instance set (every status, before filters), as `discovery:changed` has it. */
  readonly instances: readonly Instance[]
  /** From what this subscriber was last given; on the first delivery every instance is `added`. */
  readonly diff: InstanceDiff
  readonly revision: string
  /** The server's feed started over (restart, reset index, compaction) since the last delivery. */
  readonly reset: boolean
  /** True for the first delivery (the state at subscribe time). */
  readonly first: boolean
}

export type ServiceListener = (change: ServiceChange) => void

/** Receives a service's announced states; the entry calls `offer` for each. */
export interface Subscriber {
  offer(snapshot: ServiceSnapshot, reset: boolean): void
  /** The subscription can no longer be served (client closed, service evicted). */
  end(): void
}

const NOTHING: readonly Instance[] = Object.freeze([])

/** Builds the change from `last` to `snapshot`, or undefined when nothing differs. */
function changeFrom(last: readonly Instance[] | undefined, snapshot: ServiceSnapshot, reset: boolean): ServiceChange | undefined {
  const diff = diffInstances(last ?? NOTHING, snapshot.instances)
  if (last !== undefined && isEmptyDiff(diff)) return undefined
  return { service: snapshot.service, instances: snapshot.instances, diff, revision: snapshot.revision, reset, first: last === undefined }
}

/** The callback form: each change is delivered at once; a listener that throws is reported by `onThrow`. */
export class CallbackSubscriber implements Subscriber {
  #last: readonly Instance[] | undefined
  #ended = false

  constructor(
    readonly listener: ServiceListener,
    readonly onThrow: (error: unknown) => void,
  ) {}

  offer(snapshot: ServiceSnapshot, reset: boolean): void {
    if (this.#ended) return
    const change = changeFrom(this.#last, snapshot, reset)
    if (change === undefined) return
    this.#last = snapshot.instances
    try {
      this.listener(change)
    } catch (error) {
      this.onThrow(error)
    }
  }

  end(): void {
    this.#ended = true
  }
}

/** The async-iterator form: at most one pending state, folded into the next read. */
export class SubscriptionStream implements Subscriber, AsyncIterableIterator<ServiceChange> {
  readonly #onEnd: () => void
  #last: readonly Instance[] | undefined
  #pending: { snapshot: ServiceSnapshot; reset: boolean } | undefined
  #waiters: ((result: IteratorResult<ServiceChange, undefined>) => void)[] = []
  #ended = false

  /** `onEnd` runs once, when the stream ends for any reason (abort, close, return()). */
  constructor(onEnd: () => void) {
    this.#onEnd = onEnd
  }

  offer(snapshot: ServiceSnapshot, reset: boolean): void {
    if (this.#ended) return
    this.#pending = { snapshot, reset: reset || (this.#pending?.reset ?? false) }
    this.#drain()
  }

  next(): Promise<IteratorResult<ServiceChange, undefined>> {
    const change = this.#take()
    if (change !== undefined) return Promise.resolve({ value: change, done: false })
    if (this.#ended) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve) => this.#waiters.push(resolve))
  }

  return(): Promise<IteratorResult<ServiceChange, undefined>> {
    this.end()
    return Promise.resolve({ value: undefined, done: true })
  }

  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#pending = undefined
    const waiters = this.#waiters
    this.#waiters = []
    for (const waiter of waiters) waiter({ value: undefined, done: true })
    this.#onEnd()
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  #drain(): void {
    while (this.#waiters.length > 0) {
      const change = this.#take()
      if (change === undefined) return
      this.#waiters.shift()!({ value: change, done: false })
    }
  }

  #take(): ServiceChange | undefined {
    const pending = this.#pending
    if (pending === undefined) return undefined
    this.#pending = undefined
    const change = changeFrom(this.#last, pending.snapshot, pending.reset)
    if (change !== undefined) this.#last = pending.snapshot.instances
    return change
  }
}
