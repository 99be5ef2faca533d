/**
 * Config on disk, one file per key: `<dataDir>/config/<sha256(key)>.json` holds the key's
 * history (newest version first; a deletion is a version too). A write touches only the
 * files of the keys it changes: each is written to a temp file, fsynced, renamed over, and
 * the directory is fsynced once per group commit. A failed write removes its temp files,
 * so a full disk frees what it took and writes succeed again once space is freed; temp
 * files a crash left behind are removed at start. Every disk step has a deadline, so a
 * wedged or pseudo file system fails the write instead of holding it for ever.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import { isRevision } from '../types.js'
import { loadLegacyConfigFile, legacyConfigPath } from './config-file.js'

const FORMAT = 'governance-config-key/1'

/** One version of a key: its JSON text, or null for a deletion. */
export interface KeyVersion {
  readonly version: bigint
  readonly json: string | null
  /** Epoch milliseconds. */
  readonly time: number
  readonly writer: string
}

export interface KeyHistory {
  readonly key: string
  /** Newest first; never empty. */
  readonly versions: readonly KeyVersion[]
}

export interface LoadedConfig {
  readonly keys: Map<string, KeyHistory>
  /** The highest version on disk (1 when there is none). */
  index: bigint
}

/** Runs one disk step under a deadline; a handle opened after its deadline is closed. */
async function step<T>(what: string, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const work = run()
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    return await Promise.race([work, deadline])
  } catch (error) {
    void work.then((late) => (late as Partial<FileHandle> | undefined)?.close?.(), () => {})
    throw error
  } finally {
    clearTimeout(timer)
  }
}

/**
 * `mkdir -p` one level at a time. Node's recursive mkdir retries for ever on file systems
 * such as /proc that answer ENOENT for a directory they refuse to create, spinning a
 * thread-pool thread; a plain mkdir per level fails at once instead.
 */
async function makeDirs(path: string): Promise<void> {
  const parts = resolve(path).split(sep).filter((p) => p.length > 0)
  let current: string = sep
  for (const part of parts) {
    current = join(current, part)
    try {
      await mkdir(current)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
}

export const keyFileName = (key: string): string => `${createHash('sha256').update(key).digest('hex')}.json`

export function encodeKeyFile(history: KeyHistory): string {
  const versions = history.versions.map((v) => ({ version: v.version.toString(), json: v.json, time: v.time, writer: v.writer }))
  return JSON.stringify({ format: FORMAT, key: history.key, versions })
}

function decode(path: string, text: string): KeyHistory {
  const fail = (why: string): never => {
    throw new Error(`${path} is not a governance config key file (${why}); move it away or fix it`)
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    return fail(`not JSON: ${(error as Error).message}`)
  }
  const { format, key, versions } = (data ?? {}) as Record<string, unknown>
  if (format !== FORMAT) fail(`format is ${JSON.stringify(format)}`)
  if (typeof key !== 'string' || !Array.isArray(versions) || versions.length === 0) return fail('no key or no versions')
  const parsed = versions.map((item: unknown) => {
    const { version, json, time, writer } = (item ?? {}) as Record<string, unknown>
    if (!isRevision(version) || (json !== null && typeof json !== 'string') || typeof time !== 'number' || typeof writer !== 'string') return fail('a version is malformed')
    return { version: BigInt(version), json, time, writer }
  })
  return { key, versions: parsed }
}

export class ConfigDisk {
  readonly #dir: string
  readonly #timeoutMs: number

  private constructor(dir: string, timeoutMs: number) {
    this.#dir = dir
    this.#timeoutMs = timeoutMs
  }

  /**
   * Checks that `dataDir` is writable (a probe file is written, fsynced and removed),
   * removes temp files left by a crash, moves a governance-config/1 `config.json` into
   * per-key files, and loads every key.
   */
  static async open(dataDir: string, timeoutMs: number): Promise<{ disk: ConfigDisk; loaded: LoadedConfig }> {
    const dir = join(dataDir, 'config')
    const disk = new ConfigDisk(dir, timeoutMs)
    await step(`creating ${dir}`, timeoutMs, () => makeDirs(dir))
    await disk.#removeTemps(dataDir)
    await disk.#removeTemps(dir)
    await disk.#probe()
    const loaded = await disk.#load()
    await disk.#migrate(dataDir, loaded)
    return { disk, loaded }
  }

  /** Makes `changed` durable and removes the files of `removed` keys; all or nothing for `changed`. */
  async write(changed: readonly KeyHistory[], removed: readonly string[]): Promise<void> {
    const temps: { temp: string; target: string }[] = []
    try {
      for (const history of changed) temps.push({ temp: await this.#writeTemp(keyFileName(history.key), encodeKeyFile(history)), target: join(this.#dir, keyFileName(history.key)) })
    } catch (error) {
      await Promise.all(temps.map(({ temp }) => rm(temp, { force: true }).catch(() => {})))
      throw error
    }
    for (let i = 0; i < temps.length; i++) {
      const { temp, target } = temps[i]!
      try {
        await step(`renaming ${temp}`, this.#timeoutMs, () => rename(temp, target))
      } catch (error) {
        await Promise.all(temps.slice(i).map((t) => rm(t.temp, { force: true }).catch(() => {})))
        throw error
      }
    }
    for (const key of removed) await step(`removing the file of ${key}`, this.#timeoutMs, () => rm(join(this.#dir, keyFileName(key)), { force: true }))
    await this.#syncDir()
  }

  /** Writes and fsyncs a temp file beside `name`; removes it when any step fails. */
  async #writeTemp(name: string, text: string): Promise<string> {
    const temp = join(this.#dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`)
    const t = this.#timeoutMs
    let handle: FileHandle | undefined
    try {
      handle = await step(`opening ${temp}`, t, () => open(temp, 'w', 0o600))
      const h = handle
      await step(`writing ${temp}`, t, () => h.writeFile(text))
      await step(`fsyncing ${temp}`, t, () => h.sync())
      await step(`closing ${temp}`, t, () => h.close())
      return temp
    } catch (error) {
      await handle?.close().catch(() => {})
      await rm(temp, { force: true }).catch(() => {})
      throw error
    }
  }

  async #syncDir(): Promise<void> {
    let handle: FileHandle | undefined
    try {
      handle = await step(`opening ${this.#dir}`, this.#timeoutMs, () => open(this.#dir, 'r'))
      const h = handle
      await step(`fsyncing ${this.#dir}`, this.#timeoutMs, () => h.sync())
    } catch (error) {
      // Some file systems refuse fsync on a directory (EINVAL); the renames are still atomic there.
      if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error
    } finally {
      await handle?.close().catch(() => {})
    }
  }

  async #probe(): Promise<void> {
    try {
      await rm(await this.#writeTemp('probe', 'probe'), { force: true })
    } catch (error) {
      throw new Error(`the data directory is not writable: ${(error as Error).message}`, { cause: error })
    }
  }

  async #removeTemps(dir: string): Promise<void> {
    const names = await step(`listing ${dir}`, this.#timeoutMs, () => readdir(dir))
    await Promise.all(names.filter((n) => n.startsWith('.') && n.endsWith('.tmp')).map((n) => rm(join(dir, n), { force: true })))
  }

  async #load(): Promise<LoadedConfig> {
    const names = (await readdir(this.#dir)).filter((n) => /^[0-9a-f]{64}\.json$/.test(n))
    const keys = new Map<string, KeyHistory>()
    let index = 1n
    // Bounded parallel reads: fast for 50,000 keys without running out of descriptors.
    for (let i = 0; i < names.length; i += 64) {
      const histories = await Promise.all(names.slice(i, i + 64).map(async (n) => decode(join(this.#dir, n), await readFile(join(this.#dir, n), 'utf8'))))
      for (const h of histories) {
        keys.set(h.key, h)
        if (h.versions[0]!.version > index) index = h.versions[0]!.version
      }
    }
    return { keys, index }
  }

  /** Moves the one-file format of earlier releases into key files, then removes it. */
  async #migrate(dataDir: string, loaded: LoadedConfig): Promise<void> {
    const legacy = await loadLegacyConfigFile(dataDir)
    if (legacy === undefined) return
    const fresh: KeyHistory[] = []
    for (const entry of legacy.entries.values()) {
      if (loaded.keys.has(entry.key)) continue
      const history = { key: entry.key, versions: [{ version: entry.version, json: entry.json, time: 0, writer: 'config.json' }] }
      fresh.push(history)
      loaded.keys.set(entry.key, history)
    }
    await this.write(fresh, [])
    await rm(legacyConfigPath(dataDir))
    loaded.index = legacy.index > loaded.index ? legacy.index : loaded.index
  }
}
