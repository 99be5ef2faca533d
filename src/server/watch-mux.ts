/**
 * `POST /v1/watch` (protocol section 4.1): every resource a client watches on one held
 * NDJSON stream. The route answers with a stream that the HTTP layer hands the response to.
 */
import type { ServerState } from './handler.js'
import type { Handler } from './protocol/request.js'
import { DEFAULT_KEEP_ALIVE_MS, MAX_KEEP_ALIVE_MS, MAX_WATCH_RESOURCES, MIN_KEEP_ALIVE_MS, parseMuxRequest } from './watch-mux-request.js'
import { MuxSession } from './watch-mux-session.js'
import { ServiceViews } from './watch-mux-views.js'

/** The feature name `GET /v1/health` lists when the server offers the multiplexed watch. */
export const WATCH_MUX_FEATURE = 'watch-mux'

/** What health advertises about the multiplexed watch (section 8). */
export const watchMuxHealth = {
  features: [WATCH_MUX_FEATURE],
  watchMux: { maxResources: MAX_WATCH_RESOURCES, keepAliveMs: { default: DEFAULT_KEEP_ALIVE_MS, min: MIN_KEEP_ALIVE_MS, max: MAX_KEEP_ALIVE_MS } },
} as const

export interface WatchMux {
  readonly handler: Handler
  /** Open streams, for health and tests. */
  readonly size: () => number
}

export function createWatchMux(state: ServerState): WatchMux {
  const views = new ServiceViews(state)
  let open = 0
  const handler: Handler = ({ body, signal }) => {
    // Parsed before anything is written, so a bad body still gets an ordinary error answer.
    const request = parseMuxRequest(body)
    return {
      status: 200,
      text: '',
      stream: (res) => {
        open++
        const session = new MuxSession({ state, views, onEnd: () => open-- }, res, request, signal)
        session.start()
      },
    }
  }
  return { handler, size: () => open }
}
