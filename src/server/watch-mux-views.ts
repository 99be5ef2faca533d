/**
 * What a multiplexed watch sends about one resource, encoded once per resource and index
 * however many streams carry it: a service's instances (each instance's JSON and a
 * signature for diffs) and a config key's entry.
 */
import { configResource, serviceResource, type ServerState } from './handler.js'
import type { MuxResource } from './watch-mux-request.js'

export interface ServiceView {
  readonly index: bigint
  /** Instance JSON by id, in id order. */
  readonly json: ReadonlyMap<string, string>
  /** What a diff compares: the JSON without `renewedAt`, which heartbeats move without a change. */
  readonly signatures: ReadonlyMap<string, string>
  /**
   * Frames already built from this view, shared by every stream that needs the same one: the
   * full set's instance list, and the diff from each view a stream sent last. Streams that
   * were at the same index hold the same `sent` view object, so one change costs one diff.
   */
  readonly frames: { instances?: string; readonly diffs: WeakMap<ServiceView, string> }
}

/** The hub key of a resource (the same keys the blocking queries wait on). */
export function hubKey(resource: MuxResource): string {
  return resource.kind === 'service' ? serviceResource(resource.name) : configResource(resource.name)
}

export function currentIndex(state: ServerState, resource: MuxResource): bigint {
  return resource.kind === 'service' ? state.registry.serviceIndex(resource.name) : state.config.keyIndex(resource.name)
}

/** Service views shared by every stream, dropped when no stream watches the service. */
export class ServiceViews {
  readonly #views = new Map<string, { view: ServiceView; users: number }>()
  readonly #state: ServerState

  constructor(state: ServerState) {
    this.#state = state
  }

  acquire(service: string): void {
    const slot = this.#views.get(service)
    if (slot) slot.users++
    else this.#views.set(service, { view: this.#build(service), users: 1 })
  }

  release(service: string): void {
    const slot = this.#views.get(service)
    if (slot && --slot.users === 0) this.#views.delete(service)
  }

  /** The view at the service's current index (rebuilt once per change). */
  current(service: string): ServiceView {
    const slot = this.#views.get(service)
    if (!slot) return this.#build(service)
    if (slot.view.index !== this.#state.registry.serviceIndex(service)) slot.view = this.#build(service)
    return slot.view
  }

  #build(service: string): ServiceView {
    const { instances, index } = this.#state.registry.list(service)
    const json = new Map<string, string>()
    const signatures = new Map<string, string>()
    for (const instance of instances) {
      const { renewedAt: _renewedAt, ...stable } = instance
      json.set(instance.id, JSON.stringify(instance))
      signatures.set(instance.id, JSON.stringify(stable))
    }
    return { index, json, signatures, frames: { diffs: new WeakMap() } }
  }
}

const str = JSON.stringify

/** A service frame: the full set, or (with `sent`, what this stream sent last) a diff from it. */
export function serviceFrame(service: string, view: ServiceView, sent: ServiceView | undefined, reset: boolean): string {
  const head = `{"type":"service","service":${str(service)},"index":"${view.index}"`
  if (sent === undefined) {
    const instances = (view.frames.instances ??= [...view.json.values()].join(','))
    return `${head},"full":true,"reset":${reset},"instances":[${instances}]}\n`
  }
  let diff = view.frames.diffs.get(sent)
  if (diff === undefined) {
    diff = `${head},"full":false,"from":"${sent.index}",${diffBody(view, sent)}}\n`
    view.frames.diffs.set(sent, diff)
  }
  return diff
}

function diffBody(view: ServiceView, sent: ServiceView): string {
  const upsert: string[] = []
  for (const [id, signature] of view.signatures) if (sent.signatures.get(id) !== signature) upsert.push(view.json.get(id)!)
  const remove: string[] = []
  for (const id of sent.signatures.keys()) if (!view.signatures.has(id)) remove.push(str(id))
  return `"upsert":[${upsert.join(',')}],"remove":[${remove.join(',')}]`
}

/** A config frame: the entry, or `null` when the key does not exist. */
export function configFrame(state: ServerState, key: string, reset: boolean): { text: string; index: bigint } {
  const index = state.config.keyIndex(key)
  const entry = state.config.get(key)
  const body = entry === undefined ? 'null' : `{"value":${entry.json},"version":"${entry.version}"}`
  return { text: `{"type":"config","key":${str(key)},"index":"${index}","reset":${reset},"entry":${body}}\n`, index }
}
