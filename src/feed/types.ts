/** The contracts of the feed engine (feed.ts): what it follows, what it tells, what it shows. */
import type { CallContext, Unsubscribe, Watcher, WatchOptions } from '../backend.js'
import type { GovernanceError } from '../errors.js'
import type { BackoffOptions } from '../internal/backoff.js'
import type { Logger } from '../internal/logger.js'

/** One backend key as the engine sees it: a read, maybe a watch, and how to judge answers. */
export interface FeedSource<T> {
  /** Names the key in messages, e.g. "config app", "discovery of orders". */
  readonly what: string
  /** Names a read in messages, e.g. "resolving orders". */
  readonly reading: string
  /** Added to the details of the engine's own errors, e.g. `{ service: 'orders' }`. */
  readonly details?: Readonly<Record<string, unknown>>
  read(ctx: CallContext): Promise<T>
  /** The backend's watch, when it has one: its presence alone decides watch or poll. */
  readonly watch: ((watcher: Watcher<T>, options: WatchOptions | undefined) => Unsubscribe) | undefined
  /** Throws a GovernanceError for an answer outside the contract; returns the answer to use. */
  check(value: T): T
  /** The revision of a read's answer (a watch carries its own in WatchMeta). */
  revisionOf(value: T): string
}

export type FeedState = 'starting' | 'healthy' | 'outage' | 'closed'
export type FeedValueSource = 'live' | 'snapshot'

export interface FeedUpdate {
  readonly revision: string
  /** A replacement, not a continuation: the revision went back, or a snapshot is replaced. */
  readonly reset: boolean
  readonly from: 'read' | 'watch' | 'snapshot'
}

/** The engine's news, for the domain layer to turn into state, events and log lines. */
export interface FeedListener<T> {
  /** A newer state (or a replacement): the new last good value. */
  value(value: T, update: FeedUpdate): void
  /** The server answered or confirmed (after every value too); `confirmedAt` has moved. */
  confirmed?(): void
  /** Healthy (or starting) to outage: once per outage. */
  outage(error: GovernanceError): void
  /** A further failure during an outage. */
  failing?(error: GovernanceError): void
  /** Outage to healthy. */
  recovered(): void
}

/** A read-only view of the followed key. */
export interface FeedView<T> {
  readonly value: T | undefined
  readonly hasValue: boolean
  /** The newest revision taken from the server; undefined before one (or for a snapshot). */
  readonly revision: string | undefined
  readonly source: FeedValueSource | undefined
  /** When the server last answered or confirmed (a snapshot: when it was written). */
  readonly confirmedAt: number
  readonly state: FeedState
  /** Accepted updates so far: lets a caller tell whether something landed meanwhile. */
  readonly epoch: number
  readonly lastError: GovernanceError | undefined
}

/** A watch silent this long is probed with a read, and past maxStalenessMs it is an outage. */
export interface SilenceOptions {
  readonly maxStalenessMs: number
  readonly refreshAheadMs: number
}

export interface FeedOptions {
  readonly logger: Logger
  readonly now: () => number
  readonly requestTimeoutMs: number
  readonly pollIntervalMs: number
  readonly backoff: BackoffOptions
  /**
   * Start with a guarded read even when the backend watches (discovery: a caller waits for
   * an answer). False: the watch's first delivery is the first read (the Backend contract
   * says a watch starts with the current state), so the key is read once.
   */
  readonly readFirst: boolean
  readonly silence?: SilenceOptions
  readonly random?: () => number
}
