/** What a synchronous call threw (undefined when it returned): for assertions on the error itself. */
export function thrown(call: () => unknown): unknown {
  try {
    call()
  } catch (error) {
    return error
  }
  return undefined
}
