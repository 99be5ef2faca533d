/** governance-client/testing: tools for testing services that use the client. */
export { MemoryBackend, createMemoryBackend, type RecordedCall, type MemoryOperation } from './memory-backend.js'
export { FaultPlan } from './fault-plan.js'
