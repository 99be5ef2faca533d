/**
 * A table of the kinds that may follow each kind of a state union, and the check that
 * refuses anything else: a refused transition is a bug in the registry, so it throws.
 */
export type NextKinds<K extends string> = { readonly [F in K]: readonly K[] }

export type Transition<K extends string> = <S extends { readonly kind: K }>(from: { readonly kind: K }, to: S) => S

export function checkedTransitions<K extends string>(owner: string, next: NextKinds<K>): Transition<K> {
  return (from, to) => {
    if (!next[from.kind].includes(to.kind)) throw new Error(`${owner}: no transition from ${from.kind} to ${to.kind}`)
    return to
  }
}
