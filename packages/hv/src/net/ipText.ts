/**
 * Host address text (what Node's resolver and sockets give) to the bytes a
 * DNS A or AAAA record carries (RFC 1035 §3.4.1, RFC 3596 §2.2).
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The 4 bytes of dotted-quad text, or null when it is not an IPv4 address. */
export function ipv4Bytes(text: string): Uint8Array | null {
  if (!isIPv4(text)) return null;
  return Uint8Array.from(text.split('.'), Number);
}

/** The 16 bytes of IPv6 text (with `::` and an embedded dotted quad allowed), or null. */
export function ipv6Bytes(text: string): Uint8Array | null {
  const bare = text.replace(/%.*$/, ''); // a zone index is not part of the address
  if (!isIPv6(bare)) return null;
  let groups = bare;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (v4 !== null) {
    const b = ipv4Bytes(v4[1]!)!;
    groups = bare.slice(0, v4.index) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = groups.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const words = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    const v = parseInt(w, 16);
    out[i * 2] = v >>> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}
