/**
 * One multiplexed watch stream (protocol section 4.1). It waits on the waiter hub for each
 * of its resources, so a change wakes only the streams that carry that resource; changed
 * resources are marked dirty and written from their current state, which coalesces bursts
 * and bounds what a slow reader can make the server buffer to one frame per resource.
 */
import { setMaxListeners } from 'node:events'
import type { ServerResponse } from 'node:http'
import { MAX_WAIT_MS } from './protocol/blocking-params.js'
import type { WakeReason } from './waiter-hub.js'
import type { ServerState } from './handler.js'
import type { MuxRequest, MuxResource } from './watch-mux-request.js'
import { configFrame, currentIndex, hubKey, serviceFrame, type ServiceView, type ServiceViews } from './watch-mux-views.js'

/** A reader that has not drained its socket for this long (or 6 keep-alives, if longer) is cut. */
const STALLED_READER_MS = 60_000

/** A resource that never changes: its waiter only wakes when the hub closes (shutdown). */
const SHUTDOWN_KEY = 'mux:shutdown'

interface Slot {
  readonly resource: MuxResource
  readonly key: string
  /** The index the client holds (what it sent, then what this stream wrote). */
  sentIndex: bigint
  /** The service view last written, the base of the next diff. */
  sentView: ServiceView | undefined
}

export interface MuxSessionEnv {
  readonly state: ServerState
  readonly views: ServiceViews
  readonly onEnd: () => void
}

export class MuxSession {
  readonly #env: MuxSessionEnv
  readonly #res: ServerResponse
  readonly #slots: Slot[]
  readonly #dirty = new Set<Slot>()
  readonly #stop = new AbortController()
  readonly #keepAliveMs: number
  #timer: NodeJS.Timeout | undefined
  #blocked = false
  #blockedAt = 0
  #flushQueued = false
  #ended = false

  constructor(env: MuxSessionEnv, res: ServerResponse, request: MuxRequest, clientGone: AbortSignal) {
    this.#env = env
    this.#res = res
    this.#keepAliveMs = request.keepAliveMs
    this.#slots = request.resources.map((resource) => ({ resource, key: hubKey(resource), sentIndex: resource.index, sentView: undefined }))
    // One abort listener per resource waiter: a thousand of them is expected, not a leak.
    setMaxListeners(0, this.#stop.signal)
    clientGone.addEventListener('abort', () => this.end(false), { once: true })
  }

  start(): void {
    const { state, views } = this.#env
    this.#res.writeHead(200, ['content-type', 'application/x-ndjson; charset=utf-8', 'cache-control', 'no-store', 'x-accel-buffering', 'no'])
    const index = state.counter.current().toString()
    this.#res.write(`{"type":"open","index":"${index}","keepAliveMs":${this.#keepAliveMs},"resources":${this.#slots.length}}\n`)
    for (const slot of this.#slots) {
      if (slot.resource.kind === 'service') views.acquire(slot.resource.name)
      if (slot.sentIndex === 0n || currentIndex(state, slot.resource) !== slot.sentIndex) this.#dirty.add(slot)
      this.#arm(slot)
    }
    this.#armShutdown()
    this.#timer = setInterval(() => this.#keepAlive(), this.#keepAliveMs)
    this.#timer.unref()
    this.#flush()
  }

  /** Ends the stream; `closing` tells the client the server is shutting down. Idempotent. */
  end(closing: boolean): void {
    if (this.#ended) return
    this.#ended = true
    clearInterval(this.#timer)
    this.#stop.abort()
    for (const slot of this.#slots) if (slot.resource.kind === 'service') this.#env.views.release(slot.resource.name)
    if (!this.#res.destroyed && !this.#res.writableEnded) {
      // While shutting down, the connection goes too, so the server's close() need not wait for it.
      const socket = this.#res.socket
      if (closing && socket) this.#res.once('finish', () => socket.destroySoon())
      this.#res.end(closing ? '{"type":"closing"}\n' : undefined)
    }
    this.#env.onEnd()
  }

  #arm(slot: Slot): void {
    void this.#env.state.hub.wait(slot.key, MAX_WAIT_MS, this.#stop.signal).then((reason) => this.#woken(slot, reason))
  }

  #woken(slot: Slot, reason: WakeReason): void {
    if (this.#ended || reason === 'gone') return
    if (reason === 'closed') return this.end(true)
    // Re-arm before reading the index: a change between the wake-up and now is then seen either way.
    this.#arm(slot)
    if (currentIndex(this.#env.state, slot.resource) === slot.sentIndex) return
    this.#dirty.add(slot)
    this.#queueFlush()
  }

  #armShutdown(): void {
    void this.#env.state.hub.wait(SHUTDOWN_KEY, MAX_WAIT_MS, this.#stop.signal).then((reason) => {
      if (this.#ended || reason === 'gone') return
      if (reason === 'closed') this.end(true)
      else this.#armShutdown()
    })
  }

  #queueFlush(): void {
    if (this.#flushQueued || this.#blocked) return
    this.#flushQueued = true
    // Several changes in one tick (a batch of expiries) leave in one flush.
    setImmediate(() => {
      this.#flushQueued = false
      this.#flush()
    })
  }

  #flush(): void {
    for (const slot of this.#dirty) {
      if (this.#ended || this.#blocked) return
      this.#dirty.delete(slot)
      const frame = this.#frame(slot)
      if (frame !== undefined && !this.#res.write(frame)) this.#waitForDrain()
    }
  }

  #waitForDrain(): void {
    this.#blocked = true
    this.#blockedAt = performance.now()
    this.#res.once('drain', () => {
      this.#blocked = false
      this.#flush()
    })
  }

  #frame(slot: Slot): string | undefined {
    const { state, views } = this.#env
    const { resource, sentIndex } = slot
    if (resource.kind === 'config') {
      const { text, index } = configFrame(state, resource.name, sentIndex > 0n && state.config.keyIndex(resource.name) < sentIndex)
      if (index === sentIndex) return undefined
      slot.sentIndex = index
      return text
    }
    const view = views.current(resource.name)
    if (view.index === sentIndex) return undefined
    const reset = sentIndex > 0n && view.index < sentIndex
    const text = serviceFrame(resource.name, view, reset ? undefined : slot.sentView, reset)
    slot.sentIndex = view.index
    slot.sentView = view
    return text
  }

  #keepAlive(): void {
    if (this.#ended) return
    if (this.#blocked) {
      // A client that stopped reading would otherwise hold its waiters and socket for ever.
      if (performance.now() - this.#blockedAt > Math.max(STALLED_READER_MS, 6 * this.#keepAliveMs)) {
        this.end(false)
        this.#res.destroy()
      }
      return
    }
    // A keep-alive vouches for every frame before it: changes still queued go first.
    this.#flush()
    if (this.#blocked || this.#ended) return
    this.#res.write(`{"type":"keepalive","index":"${this.#env.state.counter.current()}"}\n`)
  }
}
