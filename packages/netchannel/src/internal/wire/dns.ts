/**
 * DNS messages (RFC 1035 §4.1): the header, questions and resource records,
 * with name compression (§4.1.4) decoded under strict bounds — every pointer
 * must point backwards, at most 32 jumps, names at most 255 bytes — so a
 * hostile answer cannot loop or read outside the message.
 */
import { get16, get32, put16 } from './bytes.js';
import { packed } from './layout.js';

/** The DNS header, 12 bytes (RFC 1035 §4.1.1). */
export const DNS_HEADER = packed([
  ['id', 2],
  ['flags', 2], // QR, Opcode, AA, TC, RD, RA, Z, RCODE
  ['qdcount', 2],
  ['ancount', 2],
  ['nscount', 2],
  ['arcount', 2],
]);

/** The fixed part after a question's name (RFC 1035 §4.1.2). */
export const DNS_QUESTION_TAIL = packed([['qtype', 2], ['qclass', 2]]);
/** The fixed part after a resource record's name (RFC 1035 §4.1.3). */
export const DNS_RR_TAIL = packed([['type', 2], ['class', 2], ['ttl', 4], ['rdlength', 2]]);

/** flags: response. */
export const DNS_QR = 0x8000;
/** flags: truncated (retry over TCP). */
export const DNS_TC = 0x0200;
/** flags: recursion desired. */
export const DNS_RD = 0x0100;
/** flags: response code mask. */
export const DNS_RCODE_MASK = 0x000f;
/** RCODE: name error (NXDOMAIN). */
export const DNS_RCODE_NXDOMAIN = 3;
/** Type A (IPv4 address). */
export const DNS_TYPE_A = 1;
/** Type CNAME. */
export const DNS_TYPE_CNAME = 5;
/** Class IN. */
export const DNS_CLASS_IN = 1;
/** DNS port. */
export const DNS_PORT = 53;

/** One answer record we understand. */
export interface DnsRecord {
  name: string;
  type: number;
  ttl: number;
  /** A: the address; CNAME: 0. */
  address: number;
  /** CNAME: the target name (lower case). */
  target: string;
}

/** A parsed response. */
export interface DnsResponse {
  id: number;
  flags: number;
  question: string;
  qtype: number;
  answers: DnsRecord[];
}

/**
 * Encodes a query for `name` (RD set). Returns null when the name is not a
 * valid domain name (a label over 63 bytes, an empty label, over 253 bytes, non-ASCII).
 */
export function encodeQuery(id: number, name: string, qtype: number): Uint8Array | null {
  const labels = name.replace(/\.$/, '').split('.');
  if (name.length === 0 || name.length > 253) return null;
  const out = new Uint8Array(DNS_HEADER.SIZE + name.length + 2 + DNS_QUESTION_TAIL.SIZE);
  put16(out, DNS_HEADER.id.offset, id);
  put16(out, DNS_HEADER.flags.offset, DNS_RD);
  put16(out, DNS_HEADER.qdcount.offset, 1);
  let p = DNS_HEADER.SIZE;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) return null;
    out[p++] = l.length;
    for (let i = 0; i < l.length; i++) {
      const c = l.charCodeAt(i);
      if (c > 0x7e || c < 0x21) return null;
      out[p++] = c;
    }
  }
  out[p++] = 0;
  put16(out, p, qtype);
  put16(out, p + 2, DNS_CLASS_IN);
  return out.subarray(0, p + DNS_QUESTION_TAIL.SIZE);
}

/** Reader state: where the name ended (offset after it, not after any pointer target). */
class NameReader {
  end = 0;
  read(b: Uint8Array, off: number, len: number, start: number): string | null {
    let p = start;
    let jumps = 0;
    let total = 0;
    let out = '';
    this.end = -1;
    for (;;) {
      if (p >= off + len) return null;
      const c = b[p]!;
      if (c === 0) {
        if (this.end < 0) this.end = p + 1;
        return out;
      }
      if ((c & 0xc0) === 0xc0) {
        if (p + 1 >= off + len) return null;
        const target = off + (((c & 0x3f) << 8) | b[p + 1]!);
        if (this.end < 0) this.end = p + 2;
        if (target >= p || ++jumps > 32) return null; // only backwards, bounded
        p = target;
        continue;
      }
      if ((c & 0xc0) !== 0 || p + 1 + c > off + len) return null;
      total += c + 1;
      if (total > 255) return null;
      for (let i = 0; i < c; i++) out += String.fromCharCode(b[p + 1 + i]!).toLowerCase();
      out += '.';
      p += c + 1;
    }
  }
}

/** Parses a response; null when malformed. Never throws. */
export function parseResponse(b: Uint8Array, off: number, len: number): DnsResponse | null {
  if (len < DNS_HEADER.SIZE) return null;
  const qd = get16(b, off + DNS_HEADER.qdcount.offset);
  const an = get16(b, off + DNS_HEADER.ancount.offset);
  if (qd !== 1) return null;
  const nr = new NameReader();
  const question = nr.read(b, off, len, off + DNS_HEADER.SIZE);
  if (question === null || nr.end + DNS_QUESTION_TAIL.SIZE > off + len) return null;
  const r: DnsResponse = {
    id: get16(b, off), flags: get16(b, off + DNS_HEADER.flags.offset), question,
    qtype: get16(b, nr.end), answers: [],
  };
  let p = nr.end + DNS_QUESTION_TAIL.SIZE;
  for (let i = 0; i < an && i < 64; i++) {
    const name = nr.read(b, off, len, p);
    if (name === null) return null;
    p = nr.end;
    if (p + DNS_RR_TAIL.SIZE > off + len) return null;
    const type = get16(b, p);
    const cls = get16(b, p + 2);
    const ttl = get32(b, p + 4);
    const rdlen = get16(b, p + 8);
    const rd = p + DNS_RR_TAIL.SIZE;
    if (rd + rdlen > off + len) return null;
    if (cls === DNS_CLASS_IN && type === DNS_TYPE_A && rdlen === 4) {
      r.answers.push({ name, type, ttl: Math.min(ttl, 0x7fffffff), address: get32(b, rd), target: '' });
    } else if (cls === DNS_CLASS_IN && type === DNS_TYPE_CNAME) {
      const target = nr.read(b, off, len, rd);
      if (target === null) return null;
      r.answers.push({ name, type, ttl: Math.min(ttl, 0x7fffffff), address: 0, target });
    }
    p = rd + rdlen;
  }
  return r;
}

/** The A addresses for `name`, following CNAMEs within the answer (at most 8). */
export function addressesFor(r: DnsResponse, name: string): { addresses: number[]; ttl: number } {
  let want = name;
  let ttl = 0x7fffffff;
  for (let hop = 0; hop < 8; hop++) {
    const a = r.answers.filter((x) => x.type === DNS_TYPE_A && x.name === want);
    if (a.length > 0) return { addresses: a.map((x) => x.address), ttl: Math.min(ttl, ...a.map((x) => x.ttl)) };
    const c = r.answers.find((x) => x.type === DNS_TYPE_CNAME && x.name === want);
    if (c === undefined) break;
    ttl = Math.min(ttl, c.ttl);
    want = c.target;
  }
  return { addresses: [], ttl: 0 };
}
