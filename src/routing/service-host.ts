/** Which URL hosts name a service: the default rule of gov.fetch / gov.dispatcher. */

// A protocol v1 service name without dots: a dotted host is a DNS name or an IPv4 literal.
const SERVICE_HOST = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/

/**
 * `url.host` → service name, or undefined to pass the request through. A host with a port,
 * a dot (DNS names, IPv4), brackets (IPv6) or named `localhost` is never a service.
 * WHATWG URLs lower-case host names, so a service with capitals needs a custom mapping.
 */
export function defaultServiceHost(host: string): string | undefined {
  if (host === 'localhost' || !SERVICE_HOST.test(host)) return undefined
  return host
}
