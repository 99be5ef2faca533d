/** Routes of protocol section 7: push a batch, read the latest values of a service. */
import type { Handler, ServerState } from './handler.js'
import { queryParam } from './blocking.js'
import { badRequest, notFound } from './http-error.js'
import { parseBatch } from './metrics-validation.js'
import { jsonAnswer } from './respond.js'
import { checkServiceName } from './validation.js'

export function metricsHandlers(state: ServerState): Record<'push' | 'query' | 'history', Handler> {
  const { metrics, history } = state
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

    history: ({ params, query }) => {
      const service = checkServiceName(params['service']!)
      const now = Date.now()
      const to = timeParam(query, 'to', now)
      const from = timeParam(query, 'from', to - 3_600_000)
      if (from > to) throw badRequest(`from (${from}) is after to (${to})`)
      const view = history.query(service, from, to)
      if (!view) throw notFound(`no metric history for service ${JSON.stringify(service)}`)
      return jsonAnswer(200, { ...view })
    },
  }
}

/** `from`/`to`: epoch milliseconds, or negative for "this many ms before now" (`from=-900000`). */
function timeParam(query: URLSearchParams, name: string, fallback: number): number {
  const text = queryParam(query, name)
  if (text === undefined) return fallback
  if (!/^-?[0-9]{1,16}$/.test(text)) throw badRequest(`${name} must be epoch milliseconds (or negative: before now), not ${JSON.stringify(text.slice(0, 40))}`)
  const value = Number(text)
  return value < 0 ? Date.now() + value : value
}
