/** Admin routes: an operator's status/weight override of an instance (protocol section 5). */
import type { ServerState } from './handler.js'
import type { Handler } from './protocol/request.js'
import { HttpError, badRequest, notFound } from './http-error.js'
import { MAX_OVERRIDES } from './instance-overrides.js'
import { jsonAnswer } from './protocol/answer.js'
import { checkInstanceId, checkServiceName, parseStatus, requireInteger, requireObject } from './validation.js'

export function overrideHandlers(state: ServerState): Record<'set' | 'clear', Handler> {
  const { registry } = state
  return {
    set: ({ params, body }) => {
      const service = checkServiceName(params['service']!)
      const id = checkInstanceId(params['id']!)
      const o = requireObject(body, 'the override body')
      if (o['status'] === undefined && o['weight'] === undefined) throw badRequest('an override needs status, weight or both')
      const override = {
        ...(o['status'] === undefined ? {} : { status: parseStatus(o['status']) }),
        ...(o['weight'] === undefined ? {} : { weight: requireInteger(o['weight'], 'weight', 0, 1_000) }),
      }
      const result = registry.override(service, id, override)
      if (result === 'missing') throw notFound(`instance ${JSON.stringify(id)} of service ${JSON.stringify(service)} is not registered`)
      if (result === 'full') {
        state.logger.warn('instance override refused: the override table is full', { service, id, max: MAX_OVERRIDES })
        throw new HttpError(409, 'conflict', `the server holds ${MAX_OVERRIDES} overrides already; clear some first`)
      }
      return jsonAnswer(200, { instance: result.instance, index: result.index.toString() })
    },

    clear: ({ params }) => {
      const service = checkServiceName(params['service']!)
      const id = checkInstanceId(params['id']!)
      const { cleared, index } = registry.clearOverride(service, id)
      return jsonAnswer(200, { cleared, index: index.toString() })
    },
  }
}
