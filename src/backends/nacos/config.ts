/**
 * Config in Nacos (v1 config API): dataId = key, group and tenant from the options,
 * content = the value as JSON text (content that is not JSON reads as a string).
 * Versions are this backend's own (Nacos exposes only an MD5): a counter that moves when
 * the content changes. `ifVersion` becomes Nacos's `casMd5` (atomic for updates); Nacos
 * has no create-if-absent, so `ifVersion: "0"` and deletes check by reading first.
 */
import { createHash } from 'node:crypto'
import type { CallContext, PutConfigOptions } from '../../backend.js'
import { ConflictError, InvalidArgumentError, ServerError } from '../../errors.js'
import { describeValue } from '../../internal/describe.js'
import type { Logger } from '../../internal/logger.js'
import { CONFIG_KEY_PATTERN } from '../../internal/names.js'
import type { ConfigEntry } from '../../types.js'
import { isRevision } from '../../types.js'
import type { LocalRevisions } from '../seed/revisions.js'
import type { NacosCaller } from './caller.js'

export function checkConfigKey(key: unknown): string {
  if (typeof key !== 'string' || !CONFIG_KEY_PATTERN.test(key)) throw new InvalidArgumentError(`config key must match ${String(CONFIG_KEY_PATTERN)}, got ${describeValue(key)}`)
  return key
}

export function contentMd5(content: string): string {
  return createHash('md5').update(content, 'utf8').digest('hex')
}

export interface ConfigRead {
  readonly entry: ConfigEntry | undefined
  /** MD5 of the content held, '' when absent (what the listener compares). */
  readonly md5: string
}

export class NacosConfig {
  private readonly noticed = new Set<string>()

  constructor(
    private readonly caller: NacosCaller,
    private readonly revisions: LocalRevisions,
    private readonly ids: { readonly group: string; readonly tenant: string },
    private readonly logger: Logger,
  ) {}

  params(key: string): Record<string, string> {
    return { dataId: key, group: this.ids.group, ...(this.ids.tenant === '' ? {} : { tenant: this.ids.tenant }) }
  }

  async read(key: string, ctx: CallContext): Promise<ConfigRead> {
    const answer = await this.caller.call({ method: 'GET', path: '/v1/cs/configs', params: this.params(key), accept: [404] }, ctx)
    if (answer.status === 404) {
      this.revisions.observe(`config:${key}`, null)
      return { entry: undefined, md5: '' }
    }
    const content = answer.body ?? ''
    return { entry: { key, value: parseContent(content), version: this.revisions.observe(`config:${key}`, content) }, md5: contentMd5(content) }
  }

  async put(key: string, value: unknown, options: PutConfigOptions, ctx: CallContext): Promise<ConfigEntry> {
    if (value === undefined) throw new InvalidArgumentError(`config "${key}" value must be JSON, got undefined`)
    const content = JSON.stringify(value)
    const headers: Record<string, string> = {}
    if (options?.ifVersion !== undefined) {
      const current = await this.expect(key, options.ifVersion, ctx)
      if (current.entry === undefined) this.notice('create', 'Nacos has no create-if-absent: ifVersion "0" is checked by reading first, which is not atomic')
      else headers.casMd5 = current.md5
    }
    try {
      await this.caller.call({ method: 'POST', path: '/v1/cs/configs', params: this.params(key), form: { content, type: 'json' }, headers, idempotent: true }, ctx)
    } catch (error) {
      if (error instanceof ServerError && /cas publish fail/i.test(error.message)) throw await this.conflict(key, options.ifVersion!, ctx)
      throw error
    }
    return { key, value: JSON.parse(content) as unknown, version: this.revisions.observe(`config:${key}`, content) }
  }

  async delete(key: string, options: PutConfigOptions, ctx: CallContext): Promise<boolean> {
    this.notice('delete', 'Nacos deletes without a condition: deleteConfig (and its ifVersion) checks by reading first, which is not atomic')
    const current = options?.ifVersion === undefined ? await this.read(key, ctx) : await this.expect(key, options.ifVersion, ctx)
    if (current.entry === undefined) return false
    await this.caller.call({ method: 'DELETE', path: '/v1/cs/configs', params: this.params(key) }, ctx)
    this.revisions.observe(`config:${key}`, null)
    return true
  }

  /** The current state, if it is at `ifVersion` ("0": absent); ConflictError otherwise. */
  private async expect(key: string, ifVersion: string, ctx: CallContext): Promise<ConfigRead> {
    if (!isRevision(ifVersion)) throw new InvalidArgumentError(`ifVersion must be a decimal version string, got ${describeValue(ifVersion)}`)
    const current = await this.read(key, ctx)
    const version = current.entry?.version ?? '0'
    if (version !== ifVersion) throw conflictError(key, version, ifVersion)
    return current
  }

  private async conflict(key: string, expected: string, ctx: CallContext): Promise<ConflictError> {
    const current = await this.read(key, ctx).catch(() => undefined)
    return conflictError(key, current?.entry?.version ?? '0', expected)
  }

  private notice(which: string, message: string): void {
    if (this.noticed.has(which)) return
    this.noticed.add(which)
    this.logger.warn(`nacos backend: ${message}`)
  }
}

function conflictError(key: string, currentVersion: string, expectedVersion: string): ConflictError {
  return new ConflictError(`config "${key}" is at version ${currentVersion}, not ${expectedVersion}`, { details: { key, currentVersion, expectedVersion } })
}

function parseContent(content: string): unknown {
  try {
    return JSON.parse(content) as unknown
  } catch {
    return content
  }
}
