/**
 * datasets.download fetches what a client names. A token holder of serve (or a page that got
 * one) must not make the host read this machine's or its network's services: the loopback,
 * private, link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast and
 * unspecified ranges are refused, by the URL's literal address or what its name resolves to,
 * unless the host was started to allow them (serve --allow-private-downloads; the tests' local
 * stand-in of the Hub). The Hub itself (HF_ENDPOINT) is the operator's choice and not checked.
 * This check is the early message beside the field; a name can resolve differently when fetched
 * (DNS rebinding), so the trainer checks again the address each connection uses (--public-only,
 * python-runtime/tunedeck_trainer/models/public_connections.py).
 */
import { lookup } from 'node:dns/promises'
import { BlockList, isIP } from 'node:net'
import { appError, type AppError } from '@shared/errors'

const blocked = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6')
}

/** True for an address in a refused range (IPv4-mapped IPv6 addresses count as their IPv4 address). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return blocked.check(address, 'ipv4')
  if (family === 6) return blocked.check(address, 'ipv6')
  return false
}

/** The refusal naming the URL and the address, or null when every address it resolves to is public. */
export async function privateUrlProblem(url: string): Promise<AppError | null> {
  let host: string
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '')
  } catch {
    return null // The route's schema and the download report a malformed URL.
  }
  let addresses: string[]
  if (isIP(host) !== 0) addresses = [host]
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address)
    } catch {
      return null // An unknown name: the download says it cannot connect.
    }
  }
  const found = addresses.find(isPrivateAddress)
  if (found === undefined) return null
  const message = `${url} leads to ${found}, an address on this machine or its private network; Tunedeck downloads only from the internet. Start serve with --allow-private-downloads to allow it.`
  return appError('invalid_input', `URL: ${message}`, { fields: { url: message } })
}
