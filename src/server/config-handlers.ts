/** Routes of protocol section 6: read (blocking), write with CAS, delete, list; and the history addition. */
import { parseBlocking, parseIfVersion, queryParam } from './blocking.js'
import { clientAddress, configResource, holdWhileCurrent, type Handler, type RequestContext, type ServerState } from './handler.js'
import { badRequest, limitExceeded, notFound } from './http-error.js'
import type { Answer } from './respond.js'
import { jsonAnswer } from './respond.js'
import { checkConfigKey, quote, requireObject } from './validation.js'

/** The entry answer, built around the stored JSON text so a value is never re-serialised. */
function entryAnswer(key: string, json: string, version: bigint): Answer {
  const v = version.toString()
  return { status: 200, text: `{"key":${JSON.stringify(key)},"value":${json},"version":"${v}","index":"${v}"}`, index: v }
}

function valueJson(value: unknown, maxBytes: number, state: ServerState): string {
  let json: string
  try {
    json = JSON.stringify(value)
  } catch {
    throw badRequest('value nests too deeply to be stored')
  }
  const bytes = Buffer.byteLength(json)
  if (bytes > maxBytes) {
    state.stats.refuse('valueBytesRefused', 'config value over maxValueBytes refused', { bytes })
    throw limitExceeded('maxValueBytes', `the value is ${bytes} bytes of JSON, over the ${maxBytes}-byte limit`, 413)
  }
  return json
}

function bodyIfVersion(value: unknown): bigint | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw badRequest(`ifVersion must be a decimal string, not ${quote(value)}`)
  return parseIfVersion(value)
}

/** Who wrote a version, as history shows it: the client address, and whether a write token was used. */
function writerOf(ctx: RequestContext, state: ServerState): string {
  return state.authEnabled ? `${clientAddress(ctx.req)} (write token)` : clientAddress(ctx.req)
}

function historyLimit(query: URLSearchParams): number | undefined {
  const text = queryParam(query, 'limit')
  if (text === undefined) return undefined
  if (!/^[1-9][0-9]{0,5}$/.test(text)) throw badRequest(`limit must be an integer from 1 to 999999, not ${quote(text)}`)
  return Number(text)
}

export function configHandlers(state: ServerState): Record<'list' | 'get' | 'put' | 'delete' | 'history', Handler> {
  const { config } = state
  return {
    list: () =>
      jsonAnswer(200, {
        keys: config.list().map((e) => ({ key: e.key, version: e.version.toString() })),
        index: config.index.toString(),
      }),

    get: async (ctx) => {
      const key = checkConfigKey(ctx.params['key']!)
      const blocking = parseBlocking(ctx.query)
      await holdWhileCurrent(state, configResource(key), () => config.keyIndex(key), blocking, ctx)
      const entry = config.get(key)
      if (!entry) throw notFound(`config key ${JSON.stringify(key)} does not exist`, { index: config.keyIndex(key).toString() })
      return entryAnswer(key, entry.json, entry.version)
    },

    put: async (ctx) => {
      const key = checkConfigKey(ctx.params['key']!)
      const o = requireObject(ctx.body, 'the config body')
      if (!Object.hasOwn(o, 'value')) throw badRequest('the config body needs a "value" (null is a value)')
      const ifVersion = bodyIfVersion(o['ifVersion'])
      const json = valueJson(o['value'], state.limits.maxValueBytes, state)
      const version = await config.put(key, json, ifVersion, writerOf(ctx, state))
      return entryAnswer(key, json, version)
    },

    delete: async (ctx) => {
      const key = checkConfigKey(ctx.params['key']!)
      const ifVersion = parseIfVersion(queryParam(ctx.query, 'ifVersion'))
      const index = await config.delete(key, ifVersion, writerOf(ctx, state))
      return jsonAnswer(200, { deleted: true, index: index.toString() })
    },

    history: ({ params, query }) => {
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
    },
  }
}
