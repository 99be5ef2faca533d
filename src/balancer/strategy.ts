/** Maps a `strategy` option (a built-in name or a Balancer value) to its Balancer. */
import { InvalidArgumentError } from '../errors.js'
import { consistentHash } from './consistent-hash.js'
import { leastRequest } from './least-request.js'
import { random } from './random.js'
import { roundRobin } from './round-robin.js'
import type { Balancer, Strategy } from './types.js'
import { weighted } from './weighted.js'

const BY_NAME: Readonly<Record<string, Balancer>> = Object.freeze({
  'round-robin': roundRobin(),
  random: random(),
  weighted: weighted(),
  'least-request': leastRequest(),
  'consistent-hash': consistentHash(),
})

export const STRATEGY_NAMES: readonly string[] = Object.freeze(Object.keys(BY_NAME))

export function isBalancer(value: unknown): value is Balancer {
  return typeof value === 'object' && value !== null && typeof (value as Balancer).build === 'function' && typeof (value as Balancer).name === 'string'
}

/** The Balancer for a strategy, or undefined when it is neither a known name nor a Balancer. */
export function balancerFor(strategy: Strategy): Balancer | undefined {
  if (typeof strategy === 'string') return Object.hasOwn(BY_NAME, strategy) ? BY_NAME[strategy] : undefined
  return isBalancer(strategy) ? strategy : undefined
}

/** Like balancerFor, for option validation: throws InvalidArgumentError naming the option. */
export function requireBalancer(name: string, strategy: unknown): Balancer {
  const balancer = balancerFor(strategy as Strategy)
  if (balancer === undefined) {
    const shown = typeof strategy === 'string' ? JSON.stringify(strategy) : typeof strategy
    throw new InvalidArgumentError(`${name} must be one of ${STRATEGY_NAMES.join(', ')} or a Balancer ({ name, build }), got ${shown}`)
  }
  return balancer
}
