/** Routes of protocol section 6: read (blocking), write with CAS, delete, list. */
import { parseBlocking, parseIfVersion, queryParam } from './blocking.js'
import { configResource, holdWhileCurrent, type Handler, type ServerState } from './handler.js'
import { HttpError, badRequest, notFound } from './http-error.js'
import type { Answer } from './respond.js'
import { jsonAnswer } from './respond.js'
import { checkConfigKey, quote, requireObject } from './validation.js'

export const MAX_CONFIG_VALUE_BYTES = 512 * 1024

/** The entry answer, built around the stored JSON text so a value is never re-serialised. */
function entryAnswer(key: string, json: string, version: bigint): Answer {
  const v = version.toString()
  return { status: 200, text: `{"key":${JSON.stringify(key)},"value":${json},"version":"${v}","index":"${v}"}`, index: v }
}

function valueJson(value: unknown): string {
  let json: string
  try {
    json = JSON.stringify(value)
  } catch {
    throw badRequest('value nests too deeply to be stored')
  }
  const bytes = Buffer.byteLength(json)
  if (bytes > MAX_CONFIG_VALUE_BYTES) {
    throw new HttpError(413, 'payload_too_large', `the value is ${bytes} bytes of JSON, over the ${MAX_CONFIG_VALUE_BYTES}-byte limit`)
  }
  return json
}

function bodyIfVersion(value: unknown): bigint | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw badRequest(`ifVersion must be a decimal string, not ${quote(value)}`)
  return parseIfVersion(value)
}

export function configHandlers(state: ServerState): Record<'list' | 'get' | 'put' | 'delete', Handler> {
  const { config } = state
  return {
    list: () =>
      jsonAnswer(200, {
        keys: config.list().map((e) => ({ key: e.key, version: e.version.toString() })),
        index: config.index.toString(),
      }),

    get: async ({ params, query, signal }) => {
      const key = checkConfigKey(params['key']!)
      const blocking = parseBlocking(query)
      await holdWhileCurrent(state, configResource(key), () => config.keyIndex(key), blocking, signal)
      const entry = config.get(key)
      if (!entry) throw notFound(`config key ${JSON.stringify(key)} does not exist`, { index: config.keyIndex(key).toString() })
      return entryAnswer(key, entry.json, entry.version)
    },

    put: async ({ params, body }) => {
      const key = checkConfigKey(params['key']!)
      const o = requireObject(body, 'the config body')
      if (!Object.hasOwn(o, 'value')) throw badRequest('the config body needs a "value" (null is a value)')
      const ifVersion = bodyIfVersion(o['ifVersion'])
      const json = valueJson(o['value'])
      const version = await config.put(key, json, ifVersion)
      return entryAnswer(key, json, version)
    },

    delete: async ({ params, query }) => {
      const key = checkConfigKey(params['key']!)
      const ifVersion = parseIfVersion(queryParam(query, 'ifVersion'))
      const index = await config.delete(key, ifVersion)
      return jsonAnswer(200, { deleted: true, index: index.toString() })
    },
  }
}
