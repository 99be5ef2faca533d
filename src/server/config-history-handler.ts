/** `GET /v1/config/{key}/history` (a reference-server addition to section 6): a key's versions, newest first. */
import type { ServerState } from './handler.js'
import { badRequest, notFound } from './http-error.js'
import { jsonAnswer } from './protocol/answer.js'
import { queryParam } from './protocol/blocking-params.js'
import type { Handler } from './protocol/request.js'
import { checkConfigKey, quote } from './validation.js'

function historyLimit(query: URLSearchParams): number | undefined {
  const text = queryParam(query, 'limit')
  if (text === undefined) return undefined
  if (!/^[1-9][0-9]{0,5}$/.test(text)) throw badRequest(`limit must be an integer from 1 to 999999, not ${quote(text)}`)
  return Number(text)
}

export function configHistoryHandler(state: ServerState): Handler {
  const { config } = state
  return ({ params, query }) => {
    const key = checkConfigKey(params['key']!)
    const limit = historyLimit(query)
    const history = config.history(key)
    if (!history) throw notFound(`config key ${JSON.stringify(key)} has no history`)
    const versions = history.versions.slice(0, limit).map((v) => ({
      version: v.version.toString(),
      value: v.json === null ? null : (JSON.parse(v.json) as unknown),
      deleted: v.json === null,
      time: v.time,
      writer: v.writer,
    }))
    return jsonAnswer(200, { key, versions })
  }
}
