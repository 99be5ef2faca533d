/** Routes of protocol section 7: push a batch, read the latest values of a service. */
import type { Handler, ServerState } from './handler.js'
import { notFound } from './http-error.js'
import { parseBatch } from './metrics-validation.js'
import { jsonAnswer } from './respond.js'
import { checkServiceName } from './validation.js'

export function metricsHandlers(state: ServerState): Record<'push' | 'query', Handler> {
  const { metrics } = state
  return {
    push: ({ body }) => {
      const batch = parseBatch(body)
      if (!metrics.push(batch)) return jsonAnswer(200, { accepted: 0, duplicate: true })
      return jsonAnswer(202, { accepted: batch.points.length })
    },

    query: ({ params }) => {
      const service = checkServiceName(params['service']!)
      const view = metrics.query(service)
      if (!view) throw notFound(`no metrics received for service ${JSON.stringify(service)}`)
      return jsonAnswer(200, { ...view })
    },
  }
}
