/**
 * Protocol v1's name rules (docs/protocol.md section 3), checked before a call so that a bad
 * name fails at once with a message naming it, instead of as a 400 (or, in a watch, as an
 * error repeated with backoff for ever).
 */
import { InvalidArgumentError } from '../../errors.js'
import { CONFIG_KEY_PATTERN as CONFIG_KEY, INSTANCE_ID_PATTERN as INSTANCE_ID, SERVICE_NAME_PATTERN as SERVICE } from '../../internal/names.js'


function check(what: string, rule: RegExp, value: unknown): string {
  if (typeof value !== 'string' || !rule.test(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value) : String(value)
    throw new InvalidArgumentError(`http backend: ${what} ${shown} does not match ${rule.source} (protocol v1, section 3)`)
  }
  return value
}

export const checkService = (value: unknown): string => check('service name', SERVICE, value)
export const checkInstanceId = (value: unknown): string => check('instance id', INSTANCE_ID, value)
export const checkConfigKey = (value: unknown): string => check('config key', CONFIG_KEY, value)
