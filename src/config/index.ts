/** The config subsystem (gov.config): public surface and the two functions the facade wires. */
export { createConfigClient } from './config-client.js'
export { resolveConfigOptions, DEFAULT_CONFIG_OPTIONS, type ConfigOptions, type ResolvedConfigOptions } from './options.js'
export type { Schema, ParseFn, Issue as ConfigIssue } from './schema.js'
export type { StandardSchemaV1 } from './standard-schema.js'
export type {
  ConfigCallback,
  ConfigChange,
  ConfigChangesOptions,
  ConfigClient,
  ConfigGetOptions,
  ConfigSource,
  ConfigValue,
  ConfigWatchOptions,
  ConfigWriteOptions,
} from './types.js'
