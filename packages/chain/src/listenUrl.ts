import { isIPv6 } from 'node:net'

/**
 * The URL a client on this machine uses to reach a server listening on `host:port`: a wildcard
 * address (`0.0.0.0`, `::`) is reached through loopback; an IPv6 literal goes in brackets.
 *
 * @example
 * listenUrl('0.0.0.0', 7001) // 'http://127.0.0.1:7001'
 * listenUrl('::1', 7001) // 'http://[::1]:7001'
 */
export function listenUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host
  return `http://${isIPv6(reachable) ? `[${reachable}]` : reachable}:${port}`
}
