/** `governance-client/seed`: the seed document's three centers (registry, monitor, config). */
import '../../node-guard.js'
export { seedBackend, type SeedBackend } from './backend.js'
export type { SeedBackendOptions } from './options.js'
export { monitorRecord } from './metrics.js'
