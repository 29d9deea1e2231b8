/**
 * DNS messages as the user backend's forwarder needs them (RFC 1035 §4.1):
 * reading one query — header and a single question — and writing the answer
 * to it: the question echoed, answer records whose owner name points back at
 * the question (§4.1.4 compression), truncated with TC set when it does not
 * fit (§4.2.1: 512 bytes over UDP). Parsing is strictly bounded and never
 * throws: a message from the guest is hostile input.
 */
import { packed } from '@osv-ts/virtio';
import { get16, put16, put32 } from './frameLayout.js';

/** The DNS header, 12 bytes (RFC 1035 §4.1.1). */
export const DNS_HEADER = packed([
  ['id', 2],
  ['flags', 2], // QR, Opcode (4 bits), AA, TC, RD, RA, Z (3 bits), RCODE (4 bits)
  ['qdcount', 2],
  ['ancount', 2],
  ['nscount', 2],
  ['arcount', 2],
]);
/** After a question's name (RFC 1035 §4.1.2). */
export const DNS_QUESTION_TAIL = packed([['qtype', 2], ['qclass', 2]]);
/** After an answer's name (RFC 1035 §4.1.3). */
export const DNS_RR_TAIL = packed([['type', 2], ['class', 2], ['ttl', 4], ['rdlength', 2]]);

/** flags: this is a response. */
export const DNS_QR = 0x8000;
/** flags: the opcode field (a standard query is 0). */
export const DNS_OPCODE_MASK = 0x7800;
/** flags: truncated. */
export const DNS_TC = 0x0200;
/** flags: recursion desired (copied from the query). */
export const DNS_RD = 0x0100;
/** flags: recursion available. */
export const DNS_RA = 0x0080;
/** RCODE: no error (RFC 1035 §4.1.1). */
export const DNS_RCODE_NOERROR = 0;
/** RCODE: the query was malformed. */
export const DNS_RCODE_FORMERR = 1;
/** RCODE: the server could not answer (here: the host lookup failed or timed out). */
export const DNS_RCODE_SERVFAIL = 2;
/** RCODE: the name does not exist. */
export const DNS_RCODE_NXDOMAIN = 3;
/** RCODE: the kind of query is not implemented. */
export const DNS_RCODE_NOTIMP = 4;
/** Type A, an IPv4 address (RFC 1035 §3.2.2). */
export const DNS_TYPE_A = 1;
/** Type AAAA, an IPv6 address (RFC 3596 §2.1). */
export const DNS_TYPE_AAAA = 28;
/** Class IN (RFC 1035 §3.2.4). */
export const DNS_CLASS_IN = 1;
/** QCLASS * (any class, RFC 1035 §3.2.5). */
export const DNS_CLASS_ANY = 255;
/** Longest message over UDP without EDNS (RFC 1035 §4.2.1). */
export const DNS_UDP_MAX = 512;
/** A compression pointer to offset 12, where the question's name starts. */
const NAME_POINTER = 0xc000 | DNS_HEADER.SIZE;

/** A query as read. */
export interface DnsQuery {
  readonly id: number;
  /** The query's flags (RD is echoed). */
  readonly flags: number;
  /** The question's name in lower case, dots between labels, no final dot ("" for the root). */
  readonly name: string;
  /** The question section as received (name, type, class), echoed in the answer. */
  readonly question: Uint8Array;
  readonly qtype: number;
  readonly qclass: number;
  /** Not 0 when the query cannot be served as asked: the RCODE to answer with. */
  readonly rcode: number;
}

/** One answer record. */
export interface DnsAnswer {
  readonly type: number;
  /** Seconds. */
  readonly ttl: number;
  readonly data: Uint8Array;
}

/**
 * Reads a query. Returns null when the bytes are not a query at all (too
 * short for a header, or a response), which is dropped unanswered; otherwise a
 * query whose `rcode` says whether it can be answered (FORMERR, NOTIMP).
 */
export function parseQuery(b: Uint8Array, off: number, len: number): DnsQuery | null {
  if (len < DNS_HEADER.SIZE || off < 0 || off + len > b.length) return null;
  const id = get16(b, off + DNS_HEADER.id.offset);
  const flags = get16(b, off + DNS_HEADER.flags.offset);
  if ((flags & DNS_QR) !== 0) return null;
  const empty = { id, flags, name: '', question: new Uint8Array(0), qtype: 0, qclass: 0 };
  if ((flags & DNS_OPCODE_MASK) !== 0) return { ...empty, rcode: DNS_RCODE_NOTIMP };
  if (get16(b, off + DNS_HEADER.qdcount.offset) !== 1) return { ...empty, rcode: DNS_RCODE_FORMERR };
  const start = off + DNS_HEADER.SIZE;
  const name = readName(b, start, off + len);
  if (name === null || name.end + DNS_QUESTION_TAIL.SIZE > off + len) return { ...empty, rcode: DNS_RCODE_FORMERR };
  const end = name.end + DNS_QUESTION_TAIL.SIZE;
  return {
    id, flags, name: name.text, question: b.slice(start, end), rcode: DNS_RCODE_NOERROR,
    qtype: get16(b, name.end + DNS_QUESTION_TAIL.qtype.offset), qclass: get16(b, name.end + DNS_QUESTION_TAIL.qclass.offset),
  };
}

/**
 * Writes the answer to `q`: RCODE, the echoed question and the records, at
 * most `maxLength` bytes (records that do not fit are left out and TC set).
 */
export function encodeResponse(q: DnsQuery, rcode: number, answers: readonly DnsAnswer[], maxLength: number): Uint8Array {
  let size = DNS_HEADER.SIZE + q.question.length;
  let fit = 0;
  for (const a of answers) {
    const rr = 2 + DNS_RR_TAIL.SIZE + a.data.length;
    if (size + rr > maxLength) break;
    size += rr;
    fit++;
  }
  const out = new Uint8Array(size);
  const tc = fit < answers.length ? DNS_TC : 0;
  put16(out, DNS_HEADER.id.offset, q.id);
  put16(out, DNS_HEADER.flags.offset, DNS_QR | (q.flags & (DNS_RD | DNS_OPCODE_MASK)) | DNS_RA | tc | (rcode & 0xf));
  put16(out, DNS_HEADER.qdcount.offset, q.question.length > 0 ? 1 : 0);
  put16(out, DNS_HEADER.ancount.offset, fit);
  out.set(q.question, DNS_HEADER.SIZE);
  let p = DNS_HEADER.SIZE + q.question.length;
  for (let i = 0; i < fit; i++) {
    const a = answers[i]!;
    put16(out, p, NAME_POINTER);
    p += 2;
    put16(out, p + DNS_RR_TAIL.type.offset, a.type);
    put16(out, p + DNS_RR_TAIL.class.offset, DNS_CLASS_IN);
    put32(out, p + DNS_RR_TAIL.ttl.offset, a.ttl);
    put16(out, p + DNS_RR_TAIL.rdlength.offset, a.data.length);
    p += DNS_RR_TAIL.SIZE;
    out.set(a.data, p);
    p += a.data.length;
  }
  return out;
}

/**
 * Reads an uncompressed name (a query's question has nothing to point back
 * to, so a compression pointer is malformed here). Labels of at most 63
 * bytes, a name of at most 255 (RFC 1035 §2.3.4).
 */
function readName(b: Uint8Array, start: number, limit: number): { text: string; end: number } | null {
  let p = start;
  let text = '';
  for (;;) {
    if (p >= limit) return null;
    const n = b[p]!;
    if (n === 0) return { text, end: p + 1 };
    if (n > 63 || p + 1 + n > limit || p + 1 + n - start > 254) return null;
    if (text !== '') text += '.';
    for (let i = 1; i <= n; i++) text += String.fromCharCode(b[p + i]!).toLowerCase();
    p += 1 + n;
  }
}
