/**
 * Serves the console (the built files of ui/) at /ui/. The files are read once, from the
 * first folder that holds them: beside the built server (dist/ui, for the ESM and CJS
 * builds alike) or dist/ui of the checkout when the server runs from source (tsx). Only
 * files found there are served, so no request path ever reaches the file system. The
 * assets are public: they hold no data, and the page asks for a token when one is needed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { dirname, extname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

interface Asset {
  readonly type: string
  readonly raw: Buffer
  readonly gzip: Buffer
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
}

/** Folders that may hold the built console, most specific first. */
export function consoleAssetDirs(): string[] {
  // typeof keeps the CJS build from touching import.meta, and the ESM one from __dirname.
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url))
  return [join(here, 'ui'), join(here, '..', 'ui'), join(here, '..', '..', 'dist', 'ui')]
}

export function findConsoleAssets(): string | undefined {
  return consoleAssetDirs().find((dir) => existsSync(join(dir, 'index.html')))
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)]
    if (type === undefined) continue
    const raw = readFileSync(join(dir, name))
    assets.set(name, { type, raw, gzip: gzipSync(raw, { level: 9 }) })
  }
  return assets
}

/** Answers /ui and /ui/*; false for every other path (the API's router takes those). */
export function createConsoleHandler(): (req: IncomingMessage, res: ServerResponse) => boolean {
  let assets: Map<string, Asset> | undefined
  return (req, res) => {
    const url = req.url ?? '/'
    if (url !== '/ui' && !url.startsWith('/ui/') && !url.startsWith('/ui?')) return false
    const path = url.split('?')[0]!
    if (path === '/ui') return answer(res, 301, 'text/plain', Buffer.from('see /ui/'), { location: '/ui/' })
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'text/plain', Buffer.from('GET only'), { allow: 'GET, HEAD' })
    const dir = assets === undefined ? findConsoleAssets() : undefined
    if (assets === undefined && dir !== undefined) assets = loadAssets(dir)
    if (assets === undefined) return answer(res, 503, 'text/plain; charset=utf-8', Buffer.from('the console is not built: run npm run build'))
    const name = path === '/ui/' ? 'index.html' : path.slice(4)
    const asset = assets.get(name)
    if (!asset) return answer(res, 404, 'text/plain; charset=utf-8', Buffer.from('no such console file'))
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))
    return answer(res, 200, asset.type, gzip ? asset.gzip : asset.raw, gzip ? { 'content-encoding': 'gzip', vary: 'accept-encoding' } : { vary: 'accept-encoding' }, req.method === 'HEAD')
  }
}

function answer(res: ServerResponse, status: number, type: string, body: Buffer, headers: Record<string, string> = {}, head = false): true {
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(body.length),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:",
    ...headers,
  })
  res.end(head ? undefined : body)
  return true
}
