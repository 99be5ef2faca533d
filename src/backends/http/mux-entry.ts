/**
 * One resource carried by the multiplexed watch: its watcher, the index the client holds
 * and the state it last delivered. Service diffs are applied here, so `Watcher.next` still
 * gets a full snapshot while the wire carries only what changed.
 */
import type { Watcher } from '../../backend.js'
import { ProtocolError } from '../../errors.js'
import { compareRevisions, type ConfigEntry, type Instance, type ServiceSnapshot } from '../../types.js'
import type { ConfigFrame, ServiceFrame } from './mux-frames.js'

export type MuxKind = 'service' | 'config'

/** `service:orders`, `config:feature-x`: how frames find their entry. */
export const entryId = (kind: MuxKind, name: string): string => `${kind}:${name}`

interface Guarded {
  readonly guard: (fn: () => unknown, what: string) => void
}

abstract class MuxEntryBase<T> {
  /** The index of the last state delivered (or the `afterRevision` asked for); undefined: none yet. */
  index: string | undefined

  constructor(
    readonly kind: MuxKind,
    readonly name: string,
    readonly watcher: Watcher<T>,
    afterRevision: string | undefined,
  ) {
    this.index = afterRevision
  }

  get id(): string {
    return entryId(this.kind, this.name)
  }

  /** The index the next stream resumes from; "0": send the current state. */
  resumeIndex(): string {
    return this.index ?? '0'
  }

  /** A keep-alive: the server says the last state is still current. */
  confirm(env: Guarded): void {
    const index = this.index
    const confirmed = this.watcher.confirmed
    if (index !== undefined && confirmed) env.guard(() => confirmed.call(this.watcher, { revision: index }), 'watcher.confirmed')
  }

  protected deliver(env: Guarded, value: T, index: string, resetFlag: boolean): void {
    // Another watch of the same resource on the stream was behind: this one has the state already.
    if (index === this.index && !resetFlag) return
    const reset = resetFlag || (this.index !== undefined && compareRevisions(index, this.index) < 0)
    this.index = index
    env.guard(() => this.watcher.next(value, { revision: index, reset }), 'watcher.next')
  }
}

export class ServiceEntry extends MuxEntryBase<ServiceSnapshot> {
  /** The instance set at `index`, by id; undefined until a full frame arrived on this stream. */
  #instances: Map<string, Instance> | undefined

  constructor(name: string, watcher: Watcher<ServiceSnapshot>, afterRevision: string | undefined) {
    super('service', name, watcher, afterRevision)
  }

  /** Without a base to apply diffs to (resumed from a bare `afterRevision`), ask for the full set. */
  override resumeIndex(): string {
    return this.#instances === undefined ? '0' : super.resumeIndex()
  }

  apply(env: Guarded, frame: ServiceFrame, source: string): void {
    let instances: Map<string, Instance>
    if (frame.full) instances = new Map(frame.instances.map((i) => [i.id, i]))
    else {
      if (this.#instances === undefined || frame.from !== this.index) {
        this.#instances = undefined // the next stream asks for the full set (protocol section 4.1)
        throw new ProtocolError(`${source}: a diff of service ${this.name} from index ${frame.from}, but the client holds ${this.index ?? 'nothing'}`)
      }
      // Cost grows with the change, not with the service: the map is updated in place.
      instances = this.#instances
      for (const id of frame.remove) instances.delete(id)
      for (const instance of frame.upsert) instances.set(instance.id, instance)
    }
    this.#instances = instances
    const sorted = [...instances.values()]
    this.deliver(env, { service: this.name, instances: sorted, revision: frame.index }, frame.index, frame.reset)
  }
}

export class ConfigWatchEntry extends MuxEntryBase<ConfigEntry | undefined> {
  constructor(name: string, watcher: Watcher<ConfigEntry | undefined>, afterRevision: string | undefined) {
    super('config', name, watcher, afterRevision)
  }

  apply(env: Guarded, frame: ConfigFrame): void {
    const value = frame.entry === null ? undefined : { key: this.name, value: frame.entry.value, version: frame.entry.version }
    this.deliver(env, value, frame.index, frame.reset)
  }
}

export type MuxEntry = ServiceEntry | ConfigWatchEntry
