/**
 * Address conversions at the API boundary. Inside the stack IPv4 addresses are
 * unsigned 32-bit numbers (host arithmetic, network meaning: 10.0.0.1 is
 * 0x0a000001) and MAC addresses are 6-byte arrays.
 */
import { NetError } from './errors.js';

/** Parses dotted-quad IPv4 text ("10.0.2.15") into a number. Throws NetError EINVAL on bad text. */
export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) throw new NetError('EINVAL', `'${text}' is not an IPv4 address (want a.b.c.d)`);
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new NetError('EINVAL', `'${text}' is not an IPv4 address (octet '${p}')`);
    v = v * 256 + Number(p);
  }
  return v >>> 0;
}

/** Formats a numeric IPv4 address as dotted-quad text. */
export function formatIPv4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** Accepts a number or dotted-quad text; returns the number. Throws NetError EINVAL on bad input. */
export function toIPv4(addr: number | string): number {
  if (typeof addr === 'string') return parseIPv4(addr);
  if (!Number.isInteger(addr) || addr < 0 || addr > 0xffffffff) throw new NetError('EINVAL', `${addr} is not an IPv4 address`);
  return addr;
}

/** Parses "02:00:00:00:00:01" into 6 bytes. Throws NetError EINVAL on bad text. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new NetError('EINVAL', `'${text}' is not a MAC address (want xx:xx:xx:xx:xx:xx)`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Formats 6 bytes as "xx:xx:xx:xx:xx:xx". */
export function formatMac(mac: Uint8Array): string {
  return Array.from(mac.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Netmask for a prefix length (24 → 0xffffff00). */
export function prefixToMask(prefixLength: number): number {
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new NetError('EINVAL', `prefix length ${prefixLength} outside 0..32`);
  }
  return prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
}
