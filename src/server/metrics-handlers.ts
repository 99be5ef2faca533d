/** The reference server's reads of section 7: the latest values of a service, and their history (pushes are a core route). */
import type { ServerState } from './handler.js'
import { badRequest, notFound } from './http-error.js'
import { jsonAnswer } from './protocol/answer.js'
import { queryParam } from './protocol/blocking-params.js'
import type { Handler } from './protocol/request.js'
import { checkServiceName } from './validation.js'

export function metricsHandlers(state: ServerState): Record<'query' | 'history', Handler> {
  const { metrics, history } = state
  return {
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
