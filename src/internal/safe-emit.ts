/**
 * The one guard between the client's emitter and its listeners. The facade wraps its emit
 * with it and hands the result to every subsystem, so `SubsystemContext.emit` never throws
 * and the subsystems emit from their loops without a wrapper of their own.
 */
import type { EmitFn } from '../events.js'
import type { Logger } from './logger.js'

export function guardEmit(emit: EmitFn, logger: Logger): EmitFn {
  return (event, payload) => {
    try {
      emit(event, payload)
    } catch (error) {
      // eventemitter3 rethrows a listener's exception into emit(); it belongs to the listener.
      logger.error(`a ${event} listener threw`, { error })
    }
  }
}
