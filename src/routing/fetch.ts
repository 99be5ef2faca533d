/** gov.fetch: undici's fetch over the routing dispatcher. */
import { fetch, type Dispatcher, type RequestInit, type Response } from 'undici'

export type RoutedFetch = (input: string | URL, init?: Omit<RequestInit, 'dispatcher'>) => Promise<Response>

/**
 * A failed routed request rejects as fetch does, with a TypeError whose `cause` is the
 * GovernanceError (NoAvailableInstanceError, …) or the connection error.
 */
export function createRoutedFetch(dispatcher: Dispatcher): RoutedFetch {
  return (input, init) => fetch(input, { ...init, dispatcher })
}
