import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * The proxies in front of the gateway (ingress controller, load balancer), from `TRUSTED_PROXIES`
 * as the config validated it: single addresses or CIDR ranges, IPv4 or IPv6.
 */
export function trustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(bits), type);
  }
  return list;
}

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) → `1.2.3.4`. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function isTrusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The address a request came from: the peer's, or, when the peer is a trusted proxy, the last
 * `X-Forwarded-For` entry that is not one (each proxy appends the address it saw, so entries left
 * of the first untrusted one are the client's own claims and can be forged).
 */
export function clientAddressOf(req: IncomingMessage, trusted: BlockList | undefined): string {
  const peer = plain(req.socket.remoteAddress ?? 'unknown');
  if (trusted === undefined || !isTrusted(trusted, peer)) return peer;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map(hop => plain(hop.trim()))
    .filter(hop => hop !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) return peer;
    if (!isTrusted(trusted, hop)) return hop;
  }
  return hops[0] ?? peer;
}
