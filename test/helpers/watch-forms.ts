/**
 * Both protocol v1 watch forms, each confirming about every second: unchanged blocking
 * answers (watchWaitMs) and the multiplexed stream's keep-alive frames (watchKeepAliveMs).
 * For `it.each` in tests that must hold over either form.
 */
export const WATCH_FORMS = [
  { form: 'blocking queries', options: { watchMux: false, watchWaitMs: 1_000 } },
  { form: 'the multiplexed watch', options: { watchMux: true, watchKeepAliveMs: 1_000 } },
] as const
