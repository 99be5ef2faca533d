/** governance-client/testing: tools for testing services that use the client. */
import '../node-guard.js'
export { createTestRegistry, TestRegistry, type TestRegistryOptions, type TestClientOptions } from './test-registry.js'
export type { TestBackendOptions } from './backend-view.js'
export type { CallRecord, RegistrationRecord, HeartbeatRecord, DeregistrationRecord, ConfigReadRecord } from './records.js'
export {
  MemoryBackend,
  createMemoryBackend,
  type MemoryBackendOptions,
  type RecordedCall,
  type HeldInstance,
  type EmptyScope,
} from './memory-backend.js'
export { FaultPlan, type MemoryOperation, type WatchOperation, type EmptyOperation, type FaultTarget } from './fault-plan.js'
export { startTestServer, type TestServer, type TestServerOptions } from './protocol-v1/test-server.js'
export { createProtocolV1Handler, type FetchHandler, type ProtocolV1HandlerOptions } from './protocol-v1/router.js'
