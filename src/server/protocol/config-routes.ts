/** Routes of protocol section 6 over a store: read (blocking), write with CAS, delete, list. */
import { badRequest, notFound, type HttpError } from '../http-error.js'
import { checkConfigKey, quote, requireObject } from '../validation.js'
import type { Answer } from './answer.js'
import { jsonAnswer } from './answer.js'
import { parseIfVersion, queryParam } from './blocking-params.js'
import { holdWhileCurrent } from './blocking-read.js'
import type { Handler } from './request.js'
import { andThen, type ProtocolStore } from './store.js'

/** The 404 of a read or delete of a key that does not exist (section 6). */
export function configKeyMissing(key: string, extra?: Record<string, string>): HttpError {
  return notFound(`config key ${JSON.stringify(key)} does not exist`, extra)
}

/** The entry answer, built around the stored JSON text so a value is never re-serialised. */
function entryAnswer(key: string, json: string, version: string, index: string): Answer {
  return { status: 200, text: `{"key":${JSON.stringify(key)},"value":${json},"version":"${version}","index":"${index}"}`, index }
}

function valueJson(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch {
    throw badRequest('value nests too deeply to be stored')
  }
}

function bodyIfVersion(value: unknown): bigint | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw badRequest(`ifVersion must be a decimal string, not ${quote(value)}`)
  return parseIfVersion(value)
}

export function configRoutes(store: ProtocolStore): Record<'list' | 'get' | 'put' | 'delete', Handler> {
  return {
    list: ({ request }) =>
      andThen(store.listConfig(request), ({ keys, index }) => jsonAnswer(200, { keys: keys.map(({ key, version }) => ({ key, version })), index: index.toString() })),

    get: async ({ params, request }) => {
      const key = checkConfigKey(params['key']!)
      const held = await holdWhileCurrent(store, { kind: 'config', key }, request)
      const { entry, index } = await store.getConfig(key, request, held)
      if (!entry) throw configKeyMissing(key, { index: index.toString() })
      return entryAnswer(key, entry.json, entry.version, index.toString())
    },

    put: ({ params, body, request }) => {
      const key = checkConfigKey(params['key']!)
      const o = requireObject(body, 'the config body')
      if (!Object.hasOwn(o, 'value')) throw badRequest('the config body needs a "value" (null is a value)')
      const ifVersion = bodyIfVersion(o['ifVersion'])
      const json = valueJson(o['value'])
      return andThen(store.putConfig(key, { json, value: o['value'] }, ifVersion, request), ({ version, index }) => entryAnswer(key, json, version, index.toString()))
    },

    delete: ({ params, request }) => {
      const key = checkConfigKey(params['key']!)
      const ifVersion = parseIfVersion(queryParam(request.query, 'ifVersion'))
      return andThen(store.deleteConfig(key, ifVersion, request), (index) => jsonAnswer(200, { deleted: true, index: index.toString() }))
    },
  }
}
