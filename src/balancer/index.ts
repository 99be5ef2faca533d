/** Load balancing: strategies as values (round-robin, random, weighted, least-request, consistent-hash) and their contracts. */
export type { Balancer, InstanceLoad, PickContext, Picker, PickerContext, Strategy } from './types.js'
export { roundRobin } from './round-robin.js'
export { random } from './random.js'
export { weighted } from './weighted.js'
export { leastRequest } from './least-request.js'
export { consistentHash } from './consistent-hash.js'
