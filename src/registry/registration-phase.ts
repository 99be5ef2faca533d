/**
 * Where a Registration stands, as one value instead of flags that had to agree: whether
 * register() is in force, whether its loop lives only for the callers still waiting, and
 * how far close() has got. The lease itself is the LeaseKeeper's (keeper-state.ts).
 */
import { checkedTransitions } from './state-table.js'

/** Not registered: before register(), after deregister(), after a bounded register() gave up. */
export interface IdlePhase {
  readonly kind: 'idle'
}
/**
 * From register() until deregister(), close() or giving up. `run` tells this register()
 * from a later one; `bounded`: the loop exists only for register() callers still waiting,
 * and stops when they give up (cleared once registered, or by a register({ wait: false })).
 */
export interface ActivePhase {
  readonly kind: 'active'
  readonly run: number
  readonly bounded: boolean
}
/** close() is running; `markingDown` once the status pushed is DOWN for the drain. */
export interface ClosingPhase {
  readonly kind: 'closing'
  readonly markingDown: boolean
}
export interface ClosedPhase {
  readonly kind: 'closed'
}

export type Phase = IdlePhase | ActivePhase | ClosingPhase | ClosedPhase

export const IDLE_PHASE: IdlePhase = { kind: 'idle' }

/** Which kinds may follow which; closed is final. A refused transition throws. */
export const enterPhase = checkedTransitions<Phase['kind']>('registration', {
  idle: ['active', 'closing'],
  active: ['active', 'idle', 'closing'],
  closing: ['closing', 'closed'],
  closed: [],
})
