/**
 * The fake Nacos config store (v1), from ConfigController, ConfigServletInner and
 * LongPollingService: content is raw text with an MD5, a publish with a `casMd5` header
 * only applies when the stored MD5 matches, and the listener compares the client's MD5s
 * at once, else holds for `Long-Pulling-Timeout` − 500 ms (at least 10 s) and answers the
 * URL-encoded list of changed keys, or an empty body on timeout.
 */
import { createHash } from 'node:crypto'
import { ChangeWaiters } from '../registry-fakes/fake-http.js'

export const WORD = '\x02'
export const LINE = '\x01'

export interface StoredConfig {
  content: string
  md5: string
  type: string
  lastModified: number
}

export function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex')
}

export function configKey(tenant: string, group: string, dataId: string): string {
  return `${tenant}${WORD}${group}${WORD}${dataId}`
}

export interface ListenRecord {
  readonly dataId: string
  readonly group: string
  readonly md5: string
  readonly tenant: string
}

/** `dataId^2group^2md5[^2tenant]^1…`; with two separators the last field is the md5. */
export function parseListening(text: string): ListenRecord[] {
  return text
    .split(LINE)
    .filter((r) => r !== '')
    .map((r) => {
      const [dataId = '', group = '', md5Value = '', tenant = ''] = r.split(WORD)
      return { dataId, group, md5: md5Value, tenant }
    })
}

export class FakeConfigs {
  readonly store = new Map<string, StoredConfig>()
  readonly waiters = new ChangeWaiters()

  get(tenant: string, group: string, dataId: string): StoredConfig | undefined {
    return this.store.get(configKey(tenant, group, dataId))
  }

  /** false when `casMd5` is given and does not match (Nacos cannot create-if-absent by CAS). */
  publish(tenant: string, group: string, dataId: string, content: string, type: string, casMd5: string | undefined): boolean {
    const key = configKey(tenant, group, dataId)
    const current = this.store.get(key)
    if (casMd5 !== undefined && casMd5 !== '' && current?.md5 !== casMd5) return false
    this.store.set(key, { content, md5: md5(content), type, lastModified: Date.now() })
    this.waiters.notify()
    return true
  }

  remove(tenant: string, group: string, dataId: string): void {
    if (this.store.delete(configKey(tenant, group, dataId))) this.waiters.notify()
  }

  changed(records: readonly ListenRecord[], defaultTenant: string): ListenRecord[] {
    return records.filter((r) => (this.get(r.tenant || defaultTenant, r.group, r.dataId)?.md5 ?? '') !== r.md5)
  }

  /** The listener's answer body: changed keys, URL-encoded, or '' when nothing changed in time. */
  async listen(records: readonly ListenRecord[], defaultTenant: string, holdMs: number | undefined, signal: AbortSignal): Promise<string> {
    if (holdMs !== undefined && this.changed(records, defaultTenant).length === 0) {
      await this.waiters.wait(() => this.changed(records, defaultTenant).length > 0, holdMs, signal)
    }
    const changed = this.changed(records, defaultTenant)
    if (changed.length === 0) return ''
    const body = changed.map((r) => [r.dataId, r.group, ...(r.tenant ? [r.tenant] : [])].join(WORD) + LINE).join('')
    return `${encodeURIComponent(body)}\n`
  }

  clear(): void {
    this.store.clear()
    this.waiters.notify()
  }
}
