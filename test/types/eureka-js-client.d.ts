/** The few parts of eureka-js-client (which ships no types) the tests use. */
declare module 'eureka-js-client' {
  import { EventEmitter } from 'node:events'
  export class Eureka extends EventEmitter {
    constructor(config: Record<string, unknown>)
    start(callback?: (error?: unknown) => void): void
    stop(callback?: (error?: unknown) => void): void
    getInstancesByAppId(appId: string): Record<string, unknown>[]
    getInstancesByVipAddress(vip: string): Record<string, unknown>[]
  }
}
