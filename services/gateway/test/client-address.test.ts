import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddressOf, trustedProxies } from '../src/client-address.ts';

function req(peer: string, forwardedFor?: string | string[]): IncomingMessage {
  return {
    socket: { remoteAddress: peer },
    headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
  } as unknown as IncomingMessage;
}

describe('clientAddressOf', () => {
  const trusted = trustedProxies(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);

  it('should use the peer address when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    expect(clientAddressOf(req('203.0.113.9', '198.51.100.1'), undefined)).toBe('203.0.113.9');
  });

  it('should ignore X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientAddressOf(req('203.0.113.9', '198.51.100.1'), trusted)).toBe('203.0.113.9');
  });

  it('should take the last untrusted hop behind trusted proxies, not a forged leftmost one', () => {
    expect(clientAddressOf(req('10.1.2.3', '1.1.1.1, 198.51.100.7, 10.9.9.9'), trusted)).toBe('198.51.100.7');
    expect(clientAddressOf(req('127.0.0.1', ['1.1.1.1', '198.51.100.8']), trusted)).toBe('198.51.100.8');
  });

  it('should unwrap IPv4-mapped IPv6 peers and handle IPv6 ranges', () => {
    expect(clientAddressOf(req('::ffff:10.0.0.5', '2001:db8::1'), trusted)).toBe('2001:db8::1');
    expect(clientAddressOf(req('fd00::1', '2001:db8::2, fd12::3'), trusted)).toBe('2001:db8::2');
  });

  it('should fall back to the peer on a malformed hop, and to the first hop when all are trusted', () => {
    expect(clientAddressOf(req('10.0.0.1', 'not-an-ip'), trusted)).toBe('10.0.0.1');
    expect(clientAddressOf(req('10.0.0.1', '10.0.0.2, 10.0.0.3'), trusted)).toBe('10.0.0.2');
    expect(clientAddressOf(req('10.0.0.1', ''), trusted)).toBe('10.0.0.1');
  });
});
