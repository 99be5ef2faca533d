/** Emitting from the background: a listener that throws must not break the loop that emitted. */
import type { EmitFn } from '../events.js'
import type { Logger } from '../internal/logger.js'

export function safeEmit(emit: EmitFn, logger: Logger): EmitFn {
  return (event, payload) => {
    try {
      emit(event, payload)
    } catch (error) {
      // eventemitter3 rethrows a listener's exception into emit(); it belongs to the listener.
      logger.error(`a ${event} listener threw`, { error })
    }
  }
}
