import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressesFor, DNS_HEADER, DNS_QR, DNS_QUESTION_TAIL, DNS_RCODE_FORMERR, DNS_RCODE_MASK, DNS_RCODE_NOERROR,
  DNS_RCODE_NOTIMP, DNS_RCODE_NXDOMAIN, DNS_RD, DNS_RR_TAIL, DNS_TC, DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_CNAME,
  DNS_UDP_MAX, encodeDnsResponse, encodeQuery, parseDnsQuery, parseResponse,
} from './dns.js';

/** `name` as uncompressed labels and the root (RFC 1035 §3.1). */
function labels(name: string): number[] {
  const out: number[] = [];
  for (const l of name.split('.')) if (l !== '') out.push(l.length, ...Array.from(l, (c) => c.charCodeAt(0)));
  out.push(0);
  return out;
}

/** A query as a stub resolver writes one (RFC 1035 §4.1): header, one question. */
function query(id: number, name: string, qtype = DNS_TYPE_A): Uint8Array {
  return Uint8Array.of(id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels(name), qtype >> 8, qtype & 255, 0, 1);
}

/** A response header with one question and `an` answers, then `body` (question and records, written by the caller). */
function response(an: number, ...body: number[]): Uint8Array {
  return Uint8Array.of(0, 1, 0x81, 0x80, 0, 1, 0, an, 0, 0, 0, 0, ...body);
}

/** An A record's type, class, TTL 60 and RDATA after its owner name. */
const A_TAIL = [0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1];

/** Bytes that lean towards what the name reader branches on: pointers, offsets into the header, zeros, short lengths. */
const hostileByte = fc.oneof(
  fc.constantFrom(0xc0, 0xc0, 0x0c, 0x00, 0x01, 0x3f, 0x40, 0x80, 0xff),
  fc.integer({ min: 0, max: 255 }),
);

describe('DNS messages: layouts', () => {
  it('lays out the header, question tail and record tail as RFC 1035 §4.1 does', () => {
    expect(DNS_HEADER.SIZE).toBe(12);
    expect(DNS_HEADER.ancount.offset).toBe(6);
    expect(DNS_QUESTION_TAIL.SIZE).toBe(4);
    expect(DNS_RR_TAIL.SIZE).toBe(10);
    expect(DNS_RR_TAIL.rdlength.offset).toBe(8);
  });
});

describe('DNS messages: the server side (parseDnsQuery, encodeDnsResponse)', () => {
  it('reads a query and answers it with the question echoed and pointed at', () => {
    const bytes = query(0x1234, 'Example.TEST');
    const q = parseDnsQuery(bytes, 0, bytes.length)!;
    expect(q).toMatchObject({ id: 0x1234, name: 'example.test', qtype: 1, qclass: 1, rcode: DNS_RCODE_NOERROR });
    const r = encodeDnsResponse(q, DNS_RCODE_NOERROR, [{ type: DNS_TYPE_A, ttl: 60, data: Uint8Array.of(10, 0, 2, 2) }], DNS_UDP_MAX);
    expect(r[2]! & 0x80).toBe(0x80); // QR
    expect(r[3]! & 0x0f).toBe(0);
    expect((r[6]! << 8) | r[7]!).toBe(1); // ancount
    const qEnd = 12 + q.question.length;
    expect([...r.subarray(12, qEnd)]).toEqual([...q.question]);
    expect([r[qEnd], r[qEnd + 1]]).toEqual([0xc0, 12]);
    expect([...r.subarray(r.length - 4)]).toEqual([10, 0, 2, 2]);
  });

  it('reads a query inside a larger buffer, at an offset', () => {
    const bytes = query(9, 'in.the.middle');
    const b = new Uint8Array(bytes.length + 40).fill(0xc0);
    b.set(bytes, 17);
    expect(parseDnsQuery(b, 17, bytes.length)).toMatchObject({ id: 9, name: 'in.the.middle', rcode: DNS_RCODE_NOERROR });
  });

  it('truncates with TC set rather than exceed the size limit', () => {
    const bytes = query(7, 'many.test');
    const q = parseDnsQuery(bytes, 0, bytes.length)!;
    const answers = Array.from({ length: 60 }, (_, i) => ({ type: DNS_TYPE_A, ttl: 60, data: Uint8Array.of(10, 1, 0, i) }));
    const r = encodeDnsResponse(q, DNS_RCODE_NOERROR, answers, DNS_UDP_MAX);
    expect(r.length).toBeLessThanOrEqual(DNS_UDP_MAX);
    expect(((r[2]! << 8) | r[3]!) & DNS_TC).toBe(DNS_TC);
    expect(encodeDnsResponse(q, DNS_RCODE_NOERROR, answers, 65535).length).toBe(12 + q.question.length + 60 * 16);
  });

  it('drops responses, runts and spans outside the buffer, and answers malformed queries with FORMERR or NOTIMP', () => {
    const ok = query(1, 'a.b');
    const resp = ok.slice();
    resp[2]! |= DNS_QR >> 8;
    expect(parseDnsQuery(resp, 0, resp.length)).toBeNull();
    expect(parseDnsQuery(ok, 0, 11)).toBeNull();
    expect(parseDnsQuery(ok, 0, ok.length + 1)).toBeNull();
    expect(parseDnsQuery(ok, -1, ok.length)).toBeNull();
    const two = ok.slice();
    two[5] = 2;
    expect(parseDnsQuery(two, 0, two.length)!.rcode).toBe(DNS_RCODE_FORMERR);
    const opcode = ok.slice();
    opcode[2]! |= 0x10; // opcode 2 (STATUS)
    expect(parseDnsQuery(opcode, 0, opcode.length)!.rcode).toBe(DNS_RCODE_NOTIMP);
    const pointer = Uint8Array.of(...ok.subarray(0, 12), 0xc0, 0x0c, 0, 1, 0, 1);
    expect(parseDnsQuery(pointer, 0, pointer.length)!.rcode).toBe(DNS_RCODE_FORMERR);
    expect(parseDnsQuery(ok, 0, ok.length - 1)!.rcode).toBe(DNS_RCODE_FORMERR);
    const longLabel = Uint8Array.of(...ok.subarray(0, 12), 64, ...new Array<number>(64).fill(0x61), 0, 0, 1, 0, 1);
    expect(parseDnsQuery(longLabel, 0, longLabel.length)!.rcode).toBe(DNS_RCODE_FORMERR);
  });

  it('takes names up to 255 bytes on the wire and no longer (RFC 1035 §2.3.4)', () => {
    const label = 'x'.repeat(63);
    const longest = [label, label, label, 'y'.repeat(61)].join('.'); // 4 × (1 + len) + root = 255
    const q = query(1, longest);
    expect(parseDnsQuery(q, 0, q.length)).toMatchObject({ name: longest, rcode: DNS_RCODE_NOERROR });
    const over = query(1, longest + 'y');
    expect(parseDnsQuery(over, 0, over.length)!.rcode).toBe(DNS_RCODE_FORMERR);
  });

  it('answers an unanswerable query with the RCODE, echoing id, RD and opcode but no question', () => {
    const opcode = query(0xbeef, 'a.b');
    opcode[2]! |= 0x10;
    const q = parseDnsQuery(opcode, 0, opcode.length)!;
    const r = encodeDnsResponse(q, q.rcode, [], DNS_UDP_MAX);
    expect(r.length).toBe(12);
    const flags = (r[2]! << 8) | r[3]!;
    expect([(r[0]! << 8) | r[1]!, flags & DNS_RCODE_MASK, flags & 0x7800, flags & DNS_RD, (r[4]! << 8) | r[5]!]).toEqual([0xbeef, DNS_RCODE_NOTIMP, 0x1000, DNS_RD, 0]);
  });

  it('never throws on hostile bytes, and what it answers stays within the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 12, max: 600 }), (b, max) => {
        const q = parseDnsQuery(b, 0, b.length);
        if (q === null) return;
        const limit = Math.max(max, 12 + q.question.length);
        expect(encodeDnsResponse(q, q.rcode, [{ type: 1, ttl: 1, data: new Uint8Array(4) }], limit).length).toBeLessThanOrEqual(limit);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('DNS messages: the client side (encodeQuery, parseResponse)', () => {
  it('writes queries the server side reads back', () => {
    const q = encodeQuery(0x4242, 'WWW.Example.com.', DNS_TYPE_AAAA)!;
    expect(parseDnsQuery(q, 0, q.length)).toMatchObject({ id: 0x4242, name: 'www.example.com', qtype: DNS_TYPE_AAAA, qclass: 1, rcode: 0 });
    expect((((q[2]! << 8) | q[3]!) & DNS_RD)).toBe(DNS_RD);
    for (const bad of ['', 'a..b', 'x'.repeat(64) + '.c', 'caf\u00e9.fr', 'sp ace', 'a.'.repeat(127) + 'a']) expect(encodeQuery(1, bad, DNS_TYPE_A)).toBeNull();
  });

  it('reads the responses the server side writes, following CNAMEs in the answer', () => {
    const wire = encodeQuery(77, 'Host.Example', DNS_TYPE_A)!;
    const q = parseDnsQuery(wire, 0, wire.length)!;
    const r = encodeDnsResponse(q, DNS_RCODE_NOERROR, [{ type: DNS_TYPE_A, ttl: 60, data: Uint8Array.of(192, 0, 2, 1) }, { type: DNS_TYPE_A, ttl: 30, data: Uint8Array.of(192, 0, 2, 2) }], DNS_UDP_MAX);
    const parsed = parseResponse(r, 0, r.length)!;
    expect(parsed).toMatchObject({ id: 77, question: 'host.example', qtype: DNS_TYPE_A });
    expect(parsed.flags & DNS_QR).toBe(DNS_QR);
    expect(addressesFor(parsed, 'host.example')).toEqual({ addresses: [0xc0000201, 0xc0000202], ttl: 30 });
    const nx = encodeDnsResponse(q, DNS_RCODE_NXDOMAIN, [], DNS_UDP_MAX);
    expect(parseResponse(nx, 0, nx.length)!.flags & DNS_RCODE_MASK).toBe(DNS_RCODE_NXDOMAIN);

    // www.a CNAME web.a (its target compressed onto the question's "a"), web.a A 10.0.0.1.
    const cname = response(2,
      ...labels('www.a'), 0, 1, 0, 1, // the question at 12: 3www 1a 0 ("a" at 16)
      0xc0, 12, 0, DNS_TYPE_CNAME, 0, 1, 0, 0, 0, 90, 0, 6, 3, 0x77, 0x65, 0x62, 0xc0, 16, // at 23; RDATA "web" at 35, then → "a"
      0xc0, 35, ...A_TAIL);
    expect(addressesFor(parseResponse(cname, 0, cname.length)!, 'www.a')).toEqual({ addresses: [0x0a000001], ttl: 60 });
  });

  it('rejects compression loops, forward and self pointers, and names over 255 bytes', () => {
    const self = response(1, 0xc0, 12, 0, 1, 0, 1);
    const forward = response(1, 0xc0, 14, 0, 1, 0, 1, 0);
    // The answer's name at 19: "a", then a pointer back to 19 — backwards each time, yet a loop.
    const loop = response(1, ...labels('q'), 0, 1, 0, 1, 1, 0x61, 0xc0, 19, ...A_TAIL);
    // The answer's name at 19: "a", "b" at 21, then a pointer back to 21.
    const innerLoop = response(1, ...labels('q'), 0, 1, 0, 1, 1, 0x61, 1, 0x62, 0xc0, 21, ...A_TAIL);
    const inRoot = response(1, 0x3f, ...new Array<number>(63).fill(0x61), 0xc0, 12, 0, 1, 0, 1); // grows by 64 per jump until 255
    const reserved = response(1, 0x40, 0, 0, 1, 0, 1);
    for (const m of [self, forward, loop, innerLoop, inRoot, reserved]) expect(parseResponse(m, 0, m.length)).toBeNull();
  });

  it('reads at most 64 answers, however many the header claims', () => {
    const many = response(100, ...labels('q'), 0, 1, 0, 1, ...Array.from({ length: 100 }, () => [0xc0, 12, ...A_TAIL]).flat());
    expect(parseResponse(many, 0, many.length)!.answers).toHaveLength(64);
  });

  it('rejects a response whose records run past the message or past their RDATA', () => {
    const ok = response(1, ...labels('q'), 0, 1, 0, 1, 0xc0, 12, ...A_TAIL);
    expect(parseResponse(ok, 0, ok.length)!.answers).toHaveLength(1);
    expect(parseResponse(ok, 0, ok.length - 1)).toBeNull();
    expect(parseResponse(ok, 0, ok.length + 1)).toBeNull();
    const longTarget = response(1, ...labels('q'), 0, 1, 0, 1, 0xc0, 12, 0, DNS_TYPE_CNAME, 0, 1, 0, 0, 0, 9, 0, 2, 1, 0x61, 0);
    expect(parseResponse(longTarget, 0, longTarget.length)).toBeNull();
  });
});

describe('DNS messages: hostile input to both parsers', () => {
  /**
   * The message at `off` in a buffer whose other bytes are `fill`: a parser
   * that reads outside its span gives different results for different fills.
   */
  function framed(msg: number[], off: number, fill: number): Uint8Array {
    const b = new Uint8Array(off + msg.length + 32).fill(fill);
    b.set(msg, off);
    return b;
  }

  it('never throws, never reads outside [off, off+len), always ends (compression pointers included), keeps at most 64 answers', () => {
    fc.assert(
      fc.property(fc.array(hostileByte, { maxLength: 400 }), fc.integer({ min: 0, max: 40 }), fc.boolean(), fc.integer({ min: 0, max: 255 }), (body, off, isResponse, an) => {
        const msg = [0x12, 0x34, isResponse ? 0x81 : 0x01, 0, 0, 1, 0, an, 0, 0, 0, 0, ...body];
        const results = [0x00, 0xc0, 0xff].map((fill) => {
          const b = framed(msg, off, fill);
          return [parseDnsQuery(b, off, msg.length), parseResponse(b, off, msg.length)] as const;
        });
        expect(results[1]).toEqual(results[0]);
        expect(results[2]).toEqual(results[0]);
        expect(results[0]![1]?.answers.length ?? 0).toBeLessThanOrEqual(64);
      }),
      { numRuns: 5000 },
    );
  });

  it('treats a span reaching outside the buffer as malformed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 12, maxLength: 100 }), fc.integer({ min: 1, max: 50 }), (b, extra) => {
        expect(parseDnsQuery(b, 0, b.length + extra)).toBeNull();
        expect(parseResponse(b, 0, b.length + extra)).toBeNull();
        expect(parseDnsQuery(b, -extra, b.length)).toBeNull();
        expect(parseResponse(b, -extra, b.length)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });
});
