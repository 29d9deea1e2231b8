import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DNS_HEADER, DNS_QR, DNS_QUESTION_TAIL, DNS_RCODE_FORMERR, DNS_RCODE_NOTIMP, DNS_RR_TAIL, DNS_TC, DNS_TYPE_A, encodeResponse,
  parseQuery,
} from './dnsMessage.js';
import { ipv4Bytes, ipv6Bytes } from './ipText.js';

/** A query as a stub resolver writes one (RFC 1035 §4.1): header, one question. */
function query(id: number, name: string, qtype = DNS_TYPE_A): Uint8Array {
  const labels = name.split('.').flatMap((l) => [l.length, ...Buffer.from(l)]);
  return Uint8Array.of(id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, qtype >> 8, qtype & 255, 0, 1);
}

describe('DNS messages', () => {
  it('lays out the header, question tail and record tail as RFC 1035 §4.1 does', () => {
    expect(DNS_HEADER.SIZE).toBe(12);
    expect(DNS_QUESTION_TAIL.SIZE).toBe(4);
    expect(DNS_RR_TAIL.SIZE).toBe(10);
    expect(DNS_RR_TAIL.rdlength.offset).toBe(8);
  });

  it('reads a query and answers it with the question echoed and pointed at', () => {
    const q = parseQuery(query(0x1234, 'Example.TEST'), 0, query(0x1234, 'Example.TEST').length)!;
    expect(q).toMatchObject({ id: 0x1234, name: 'example.test', qtype: 1, qclass: 1, rcode: 0 });
    const r = encodeResponse(q, 0, [{ type: 1, ttl: 60, data: Uint8Array.of(10, 0, 2, 2) }], 512);
    expect(r[2]! & 0x80).toBe(0x80); // QR
    expect(r[3]! & 0x0f).toBe(0);
    expect((r[6]! << 8) | r[7]!).toBe(1); // ancount
    const qEnd = 12 + q.question.length;
    expect(Buffer.from(r.subarray(12, qEnd)).equals(Buffer.from(q.question))).toBe(true);
    expect([r[qEnd], r[qEnd + 1]]).toEqual([0xc0, 12]);
    expect([...r.subarray(r.length - 4)]).toEqual([10, 0, 2, 2]);
  });

  it('truncates with TC set rather than exceed the size limit', () => {
    const bytes = query(7, 'many.test');
    const q = parseQuery(bytes, 0, bytes.length)!;
    const answers = Array.from({ length: 60 }, (_, i) => ({ type: 1, ttl: 60, data: Uint8Array.of(10, 1, 0, i) }));
    const r = encodeResponse(q, 0, answers, 512);
    expect(r.length).toBeLessThanOrEqual(512);
    expect(((r[2]! << 8) | r[3]!) & DNS_TC).toBe(DNS_TC);
    expect(encodeResponse(q, 0, answers, 65535).length).toBe(12 + q.question.length + 60 * 16);
  });

  it('drops responses and runts, and answers malformed queries with FORMERR or NOTIMP', () => {
    const ok = query(1, 'a.b');
    const resp = ok.slice();
    resp[2]! |= DNS_QR >> 8;
    expect(parseQuery(resp, 0, resp.length)).toBeNull();
    expect(parseQuery(ok, 0, 11)).toBeNull();
    const two = ok.slice();
    two[5] = 2;
    expect(parseQuery(two, 0, two.length)!.rcode).toBe(DNS_RCODE_FORMERR);
    const opcode = ok.slice();
    opcode[2]! |= 0x10; // opcode 2 (STATUS)
    expect(parseQuery(opcode, 0, opcode.length)!.rcode).toBe(DNS_RCODE_NOTIMP);
    const pointer = Uint8Array.of(...ok.subarray(0, 12), 0xc0, 0x0c, 0, 1, 0, 1);
    expect(parseQuery(pointer, 0, pointer.length)!.rcode).toBe(DNS_RCODE_FORMERR);
    expect(parseQuery(ok, 0, ok.length - 1)!.rcode).toBe(DNS_RCODE_FORMERR);
  });

  it('never throws on hostile bytes, and what it answers stays within the limit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 12, max: 600 }), (b, max) => {
        const q = parseQuery(b, 0, b.length);
        if (q !== null) expect(encodeResponse(q, q.rcode, [{ type: 1, ttl: 1, data: new Uint8Array(4) }], Math.max(max, 12 + q.question.length)).length).toBeLessThanOrEqual(Math.max(max, 12 + q.question.length));
      }),
      { numRuns: 5000 },
    );
  });

  it('turns host address text into record bytes', () => {
    expect([...ipv4Bytes('127.0.0.1')!]).toEqual([127, 0, 0, 1]);
    expect(ipv4Bytes('::1')).toBeNull();
    expect([...ipv6Bytes('::1')!]).toEqual([...new Array(15).fill(0), 1]);
    expect([...ipv6Bytes('2001:db8::ff00:42:8329')!]).toEqual([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42, 0x83, 0x29]);
    expect([...ipv6Bytes('::ffff:10.0.2.2')!].slice(10)).toEqual([0xff, 0xff, 10, 0, 2, 2]);
    expect([...ipv6Bytes('fe80::1%eth0')!].slice(0, 2)).toEqual([0xfe, 0x80]);
    expect(ipv6Bytes('nonsense')).toBeNull();
  });
});
