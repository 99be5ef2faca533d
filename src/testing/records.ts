/** What a test registry records of the calls it received, for assertions. */
import { toGovernanceError, type GovernanceError } from '../errors.js'
import type { InstanceSpec, Lease } from '../types.js'

export interface CallRecord {
  /** When the call arrived (Date.now(), faked by fake timers). */
  readonly at: number
  /** Set once the call failed (an injected fault, a lost lease, a conflict…); undefined while it is pending or when it succeeded. */
  readonly error?: GovernanceError | undefined
}

/** One registration attempt (the first one, a re-registration, a status change). */
export interface RegistrationRecord extends CallRecord {
  readonly instance: InstanceSpec
}

/** One renewal attempt (a heartbeat). */
export interface HeartbeatRecord extends CallRecord {
  readonly lease: Lease
}

export interface DeregistrationRecord extends CallRecord {
  readonly lease: Lease
}

/** A read of a config key: a single read ('get'), or a watch opened on it ('watch'). */
export interface ConfigReadRecord extends CallRecord {
  readonly key: string
  readonly via: 'get' | 'watch'
}

type Writable<T> = { -readonly [K in keyof T]: T[K] }

export class CallRecords {
  readonly registrations: RegistrationRecord[] = []
  readonly heartbeats: HeartbeatRecord[] = []
  readonly deregistrations: DeregistrationRecord[] = []
  readonly configReads: ConfigReadRecord[] = []

  /** Records a call now and its failure when `pending` rejects; passes the outcome on. */
  track<R extends CallRecord, T>(into: R[], fields: Omit<R, keyof CallRecord>, pending: Promise<T>): Promise<T> {
    const record = { ...fields, at: Date.now() } as Writable<R>
    into.push(record as R)
    return pending.catch((error: unknown) => {
      record.error = toGovernanceError(error)
      throw error
    })
  }

  clear(): void {
    for (const list of [this.registrations, this.heartbeats, this.deregistrations, this.configReads]) list.length = 0
  }
}
