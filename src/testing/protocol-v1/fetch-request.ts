/** The ProtocolRequest of a fetch-API Request (msw handlers, the loopback test server). */
import { checkContentType, parseJson, tooLarge } from '../../server/protocol/json-body.js'
import type { ProtocolRequest } from '../../server/protocol/request.js'

/** The protocol's body cap, as the reference server's default maxBodyBytes. */
const MAX_BODY_BYTES = 1_048_576

export class FetchRequest implements ProtocolRequest {
  readonly method: string
  readonly segments: readonly string[]
  /** The request's own signal combined with the registry's closing. */
  readonly signal: AbortSignal
  readonly #request: Request
  readonly #search: string
  #query: URLSearchParams | undefined

  constructor(request: Request, segments: readonly string[], search: string, closing: AbortSignal) {
    this.method = request.method
    this.segments = segments
    this.signal = AbortSignal.any([request.signal, closing])
    this.#request = request
    this.#search = search
  }

  get query(): URLSearchParams {
    return (this.#query ??= new URLSearchParams(this.#search))
  }

  /** A test registry has no peers to tell apart. */
  get client(): string {
    return ''
  }

  header(name: string): string | undefined {
    return this.#request.headers.get(name) ?? undefined
  }

  get hasBody(): boolean {
    return this.#request.body !== null
  }

  async bytes(): Promise<Buffer> {
    const bytes = Buffer.from(await this.#request.arrayBuffer())
    if (bytes.length > MAX_BODY_BYTES) throw tooLarge(MAX_BODY_BYTES)
    return bytes
  }

  async json(): Promise<unknown> {
    if (!this.hasBody) return undefined
    checkContentType(this.header('content-type'))
    return parseJson(await this.bytes())
  }
}
