/** Load balancing: strategies as values (round-robin, random, weighted, least-request, consistent-hash), the outlier-ejection wrapper and their contracts. */
export type { Balancer, InstanceLoad, PickContext, Picker, PickerContext, Strategy } from './types.js'
export { roundRobin } from './round-robin.js'
export { random } from './random.js'
export { weighted } from './weighted.js'
export { leastRequest } from './least-request.js'
export { consistentHash } from './consistent-hash.js'
export { outlierEjection } from './outlier-ejection.js'
export type { OutlierOptions } from './outlier-options.js'
