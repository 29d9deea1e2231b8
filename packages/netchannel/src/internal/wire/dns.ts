/**
 * DNS messages (RFC 1035 §4.1), both sides of one exchange: a client writes a
 * query and reads the response (netchannel's stub resolver), a server reads a
 * query and writes the response (the hv's user-network DNS forwarder).
 *
 * Every parser here reads hostile bytes — a guest's queries, a peer's
 * answers — so each is strictly bounded and never throws: nothing is read
 * outside `b[off, off+len)` (an `off`/`len` outside `b` is itself malformed);
 * labels are at most 63 bytes and names 255 (RFC 1035 §2.3.4); compression
 * pointers (§4.1.4) must point strictly backwards and at most
 * DNS_POINTER_JUMPS_MAX are followed, so no message can make a parser loop.
 * Malformed input yields null (or, for a query a server should still answer,
 * an RCODE), never an exception.
 *
 * Names are returned in ASCII lower case (RFC 4343), labels joined by dots,
 * with no final dot; the root is "".
 */
import { get16, get32, put16, put32 } from './bytes.js';
import { packed } from './layout.js';

/** The DNS header, 12 bytes (RFC 1035 §4.1.1). */
export const DNS_HEADER = packed([
  ['id', 2],
  ['flags', 2], // QR, Opcode (4 bits), AA, TC, RD, RA, Z (3 bits), RCODE (4 bits)
  ['qdcount', 2],
  ['ancount', 2],
  ['nscount', 2],
  ['arcount', 2],
]);
/** The fixed part after a question's name (RFC 1035 §4.1.2). */
export const DNS_QUESTION_TAIL = packed([['qtype', 2], ['qclass', 2]]);
/** The fixed part after a resource record's name (RFC 1035 §4.1.3); ttl in seconds, rdlength in bytes. */
export const DNS_RR_TAIL = packed([['type', 2], ['class', 2], ['ttl', 4], ['rdlength', 2]]);

/** flags: this is a response. */
export const DNS_QR = 0x8000;
/** flags: the opcode field (a standard query is 0). */
export const DNS_OPCODE_MASK = 0x7800;
/** flags: truncated (retry over TCP, RFC 1035 §4.2.1). */
export const DNS_TC = 0x0200;
/** flags: recursion desired (set by the client, echoed by the server). */
export const DNS_RD = 0x0100;
/** flags: recursion available. */
export const DNS_RA = 0x0080;
/** flags: the response code field. */
export const DNS_RCODE_MASK = 0x000f;
/** RCODE: no error (RFC 1035 §4.1.1). */
export const DNS_RCODE_NOERROR = 0;
/** RCODE: the query was malformed. */
export const DNS_RCODE_FORMERR = 1;
/** RCODE: the server could not answer (a failed or timed-out upstream lookup). */
export const DNS_RCODE_SERVFAIL = 2;
/** RCODE: the name does not exist (NXDOMAIN). */
export const DNS_RCODE_NXDOMAIN = 3;
/** RCODE: the kind of query is not implemented. */
export const DNS_RCODE_NOTIMP = 4;
/** Type A, an IPv4 address (RFC 1035 §3.2.2). */
export const DNS_TYPE_A = 1;
/** Type CNAME, a canonical name (RFC 1035 §3.2.2). */
export const DNS_TYPE_CNAME = 5;
/** Type AAAA, an IPv6 address (RFC 3596 §2.1). */
export const DNS_TYPE_AAAA = 28;
/** Class IN (RFC 1035 §3.2.4). */
export const DNS_CLASS_IN = 1;
/** QCLASS * (any class, RFC 1035 §3.2.5). */
export const DNS_CLASS_ANY = 255;
/** The DNS port, UDP and TCP (RFC 1035 §4.2). */
export const DNS_PORT = 53;
/** Longest message over UDP without EDNS, bytes (RFC 1035 §4.2.1). */
export const DNS_UDP_MAX = 512;

/** Longest label, bytes (RFC 1035 §2.3.4). */
const DNS_LABEL_MAX = 63;
/** Longest name on the wire, bytes: length octets, labels and the root (RFC 1035 §2.3.4). */
const DNS_NAME_MAX = 255;
/** Most compression pointers followed in one name (a legitimate name needs few; this bounds the work). */
const DNS_POINTER_JUMPS_MAX = 32;
/** The top two bits of a length octet that make it a compression pointer (RFC 1035 §4.1.4). */
const DNS_POINTER_BITS = 0xc0;
/** A compression pointer to offset 12, where the (first) question's name starts. */
const DNS_QUESTION_POINTER = (DNS_POINTER_BITS << 8) | DNS_HEADER.SIZE;
/** Most answer records read from one response (more are ignored). */
const DNS_ANSWERS_MAX = 64;
/** TTLs are capped to a positive 32-bit signed value (RFC 2181 §8). */
const DNS_TTL_MAX = 0x7fffffff;

// ---------------------------------------------------------------- names

/**
 * Reads names. Holds one piece of state so the hot path allocates nothing but
 * the name's text: `end`, the offset just after the name as it stands at
 * `start` (after its terminating zero, or after its first pointer).
 */
class NameReader {
  end = 0;

  /**
   * The name at `start` in the message `b[off, off+len)`, or null when it is
   * malformed: it runs out of the message, a label is over 63 bytes or of a
   * reserved type (0x40, 0x80: RFC 6891 §5), the name is over 255 bytes, a
   * pointer does not point strictly backwards or is one of too many — or is
   * there at all when `pointers` is false.
   */
  read(b: Uint8Array, off: number, len: number, start: number, pointers: boolean): string | null {
    const limit = off + len;
    let p = start;
    let jumps = 0;
    let total = 1; // the root's zero octet
    let out = '';
    this.end = -1;
    for (;;) {
      if (p >= limit) return null;
      const c = b[p]!;
      if (c === 0) {
        if (this.end < 0) this.end = p + 1;
        return out;
      }
      if ((c & DNS_POINTER_BITS) === DNS_POINTER_BITS) {
        if (!pointers || p + 1 >= limit) return null;
        const target = off + (((c & ~DNS_POINTER_BITS) << 8) | b[p + 1]!);
        if (this.end < 0) this.end = p + 2;
        if (target >= p || ++jumps > DNS_POINTER_JUMPS_MAX) return null;
        p = target;
        continue;
      }
      if (c > DNS_LABEL_MAX || p + 1 + c > limit) return null;
      total += 1 + c;
      if (total > DNS_NAME_MAX) return null;
      if (out !== '') out += '.';
      for (let i = 1; i <= c; i++) {
        const ch = b[p + i]!;
        out += String.fromCharCode(ch >= 0x41 && ch <= 0x5a ? ch | 0x20 : ch);
      }
      p += 1 + c;
    }
  }
}

/** True when `[off, off+len)` lies inside `b` and holds at least a header. */
function holdsHeader(b: Uint8Array, off: number, len: number): boolean {
  return off >= 0 && len >= DNS_HEADER.SIZE && off + len <= b.length;
}

// ---------------------------------------------------------------- client side

/** One answer record the stub resolver understands (A or CNAME, class IN). */
export interface DnsRecord {
  /** Owner name. */
  name: string;
  type: number;
  /** Seconds, at most 2^31 - 1. */
  ttl: number;
  /** A: the address; CNAME: 0. */
  address: number;
  /** CNAME: the target name; A: "". */
  target: string;
}

/** A parsed response. */
export interface DnsResponse {
  id: number;
  flags: number;
  /** The question's name. */
  question: string;
  qtype: number;
  /** The A and CNAME records of the answer section; others are skipped. */
  answers: DnsRecord[];
}

/**
 * Encodes a query for `name` (RD set, class IN). Returns null when the name is
 * not a valid domain name (a label over 63 bytes, an empty label, over 253
 * bytes, a character outside printable ASCII). A final dot is allowed.
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
    if (l.length === 0 || l.length > DNS_LABEL_MAX) return null;
    out[p++] = l.length;
    for (let i = 0; i < l.length; i++) {
      const c = l.charCodeAt(i);
      if (c > 0x7e || c < 0x21) return null;
      out[p++] = c;
    }
  }
  out[p++] = 0;
  put16(out, p + DNS_QUESTION_TAIL.qtype.offset, qtype);
  put16(out, p + DNS_QUESTION_TAIL.qclass.offset, DNS_CLASS_IN);
  return out.subarray(0, p + DNS_QUESTION_TAIL.SIZE);
}

/**
 * Parses the response in `b[off, off+len)`: header, the one question, and the
 * A and CNAME records among the first 64 answers (names may be compressed).
 * Returns null when it is malformed; never throws. The caller checks QR, the
 * id and the question against its query.
 */
export function parseResponse(b: Uint8Array, off: number, len: number): DnsResponse | null {
  if (!holdsHeader(b, off, len)) return null;
  const limit = off + len;
  if (get16(b, off + DNS_HEADER.qdcount.offset) !== 1) return null;
  const an = get16(b, off + DNS_HEADER.ancount.offset);
  const nr = new NameReader();
  const question = nr.read(b, off, len, off + DNS_HEADER.SIZE, true);
  if (question === null || nr.end + DNS_QUESTION_TAIL.SIZE > limit) return null;
  const r: DnsResponse = {
    id: get16(b, off + DNS_HEADER.id.offset), flags: get16(b, off + DNS_HEADER.flags.offset), question,
    qtype: get16(b, nr.end + DNS_QUESTION_TAIL.qtype.offset), answers: [],
  };
  let p = nr.end + DNS_QUESTION_TAIL.SIZE;
  for (let i = 0; i < an && i < DNS_ANSWERS_MAX; i++) {
    const name = nr.read(b, off, len, p, true);
    if (name === null) return null;
    p = nr.end;
    if (p + DNS_RR_TAIL.SIZE > limit) return null;
    const type = get16(b, p + DNS_RR_TAIL.type.offset);
    const cls = get16(b, p + DNS_RR_TAIL.class.offset);
    const ttl = Math.min(get32(b, p + DNS_RR_TAIL.ttl.offset), DNS_TTL_MAX);
    const rdlen = get16(b, p + DNS_RR_TAIL.rdlength.offset);
    const rd = p + DNS_RR_TAIL.SIZE;
    if (rd + rdlen > limit) return null;
    if (cls === DNS_CLASS_IN && type === DNS_TYPE_A && rdlen === 4) {
      r.answers.push({ name, type, ttl, address: get32(b, rd), target: '' });
    } else if (cls === DNS_CLASS_IN && type === DNS_TYPE_CNAME) {
      const target = nr.read(b, off, rd + rdlen - off, rd, true); // within its RDATA
      if (target === null) return null;
      r.answers.push({ name, type, ttl, address: 0, target });
    }
    p = rd + rdlen;
  }
  return r;
}

/** The A addresses for `name` (lower case, no final dot), following CNAMEs within the answer (at most 8). */
export function addressesFor(r: DnsResponse, name: string): { addresses: number[]; ttl: number } {
  let want = name;
  let ttl = DNS_TTL_MAX;
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

// ---------------------------------------------------------------- server side

/** A query as a server reads it (parseDnsQuery). */
export interface DnsQuery {
  readonly id: number;
  /** The query's flags (RD and the opcode are echoed in the response). */
  readonly flags: number;
  /** The question's name ("" when `rcode` is not NOERROR). */
  readonly name: string;
  /** The question section as received (name, type, class), echoed in the response; empty when `rcode` is not NOERROR. */
  readonly question: Uint8Array;
  readonly qtype: number;
  readonly qclass: number;
  /** DNS_RCODE_NOERROR, or the RCODE to answer with because the query cannot be served as asked (FORMERR, NOTIMP). */
  readonly rcode: number;
}

/** One answer record a server writes (class IN; its owner is the question's name). */
export interface DnsAnswer {
  readonly type: number;
  /** Seconds. */
  readonly ttl: number;
  /** RDATA, e.g. the 4 bytes of an A record. */
  readonly data: Uint8Array;
}

/**
 * Reads the query in `b[off, off+len)` for a server. Returns null when the
 * bytes are not a query at all (outside `b`, too short for a header, or a
 * response), which a server drops unanswered; otherwise a query whose `rcode`
 * says whether it can be answered: NOTIMP for an opcode other than QUERY,
 * FORMERR for a question count other than 1 or a malformed question (a
 * compression pointer there is malformed: nothing precedes it to point at).
 * Other sections are ignored (an EDNS OPT record in the additional section
 * is not an error). Never throws.
 */
export function parseDnsQuery(b: Uint8Array, off: number, len: number): DnsQuery | null {
  if (!holdsHeader(b, off, len)) return null;
  const id = get16(b, off + DNS_HEADER.id.offset);
  const flags = get16(b, off + DNS_HEADER.flags.offset);
  if ((flags & DNS_QR) !== 0) return null;
  const unanswerable = (rcode: number): DnsQuery => ({ id, flags, name: '', question: new Uint8Array(0), qtype: 0, qclass: 0, rcode });
  if ((flags & DNS_OPCODE_MASK) !== 0) return unanswerable(DNS_RCODE_NOTIMP);
  if (get16(b, off + DNS_HEADER.qdcount.offset) !== 1) return unanswerable(DNS_RCODE_FORMERR);
  const start = off + DNS_HEADER.SIZE;
  const nr = new NameReader();
  const name = nr.read(b, off, len, start, false);
  if (name === null || nr.end + DNS_QUESTION_TAIL.SIZE > off + len) return unanswerable(DNS_RCODE_FORMERR);
  return {
    id, flags, name, question: b.slice(start, nr.end + DNS_QUESTION_TAIL.SIZE), rcode: DNS_RCODE_NOERROR,
    qtype: get16(b, nr.end + DNS_QUESTION_TAIL.qtype.offset), qclass: get16(b, nr.end + DNS_QUESTION_TAIL.qclass.offset),
  };
}

/**
 * Writes the response to `q` with `rcode`: the header (QR, RA, RD and the
 * opcode echoed), the question echoed, and `answers`, each owned by the
 * question's name through a compression pointer (RFC 1035 §4.1.4). At most
 * `maxLength` bytes (DNS_UDP_MAX over UDP): answers that do not fit are left
 * out and TC is set. The header and question are always written, so the
 * result is never shorter than 12 + `q.question.length` bytes.
 */
export function encodeDnsResponse(q: DnsQuery, rcode: number, answers: readonly DnsAnswer[], maxLength: number): Uint8Array {
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
  put16(out, DNS_HEADER.flags.offset, DNS_QR | (q.flags & (DNS_RD | DNS_OPCODE_MASK)) | DNS_RA | tc | (rcode & DNS_RCODE_MASK));
  put16(out, DNS_HEADER.qdcount.offset, q.question.length > 0 ? 1 : 0);
  put16(out, DNS_HEADER.ancount.offset, fit);
  out.set(q.question, DNS_HEADER.SIZE);
  let p = DNS_HEADER.SIZE + q.question.length;
  for (let i = 0; i < fit; i++) {
    const a = answers[i]!;
    put16(out, p, DNS_QUESTION_POINTER);
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
