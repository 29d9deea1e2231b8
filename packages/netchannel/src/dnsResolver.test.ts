/// <reference types="node" />
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DnsResolver } from './dnsResolver.js';
import { ADDR_B, twoStacks } from './host/twoStacks.js';
import { settle } from './host/simulation.js';
import type { NetStack } from './netStack.js';
import type { SockAddr } from './socketOptions.js';
import { parseResponse } from './internal/wire/dns.js';
import { VirtualClock } from './virtualClock.js';

type Answer = { name: string; cname?: string; a?: number; ttl?: number };

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const l of name.replace(/\.$/, '').split('.')) out.push(l.length, ...Array.from(l, (c) => c.charCodeAt(0)));
  out.push(0);
  return out;
}

/** Builds a response to `query` by hand (no compression except a pointer to the question for the first answer's name). */
function respond(query: Uint8Array, answers: Answer[], rcode = 0, tc = false, idDelta = 0): Uint8Array {
  let qend = 12;
  while (query[qend] !== 0) qend += query[qend]! + 1;
  qend += 5;
  const out: number[] = [...query.subarray(0, qend)];
  out[0] = ((query[0]! << 8 | query[1]!) + idDelta) >>> 8 & 255;
  out[1] = ((query[0]! << 8 | query[1]!) + idDelta) & 255;
  out[2] = 0x81 | (tc ? 0x02 : 0);
  out[3] = 0x80 | rcode;
  out[6] = 0;
  out[7] = answers.length;
  answers.forEach((a, i) => {
    out.push(...(i === 0 ? [0xc0, 12] : encodeName(a.name)));
    const ttl = a.ttl ?? 300;
    if (a.cname !== undefined) {
      const t = encodeName(a.cname);
      out.push(0, 5, 0, 1, ttl >>> 24, (ttl >>> 16) & 255, (ttl >>> 8) & 255, ttl & 255, 0, t.length, ...t);
    } else {
      const v = a.a!;
      out.push(0, 1, 0, 1, ttl >>> 24, (ttl >>> 16) & 255, (ttl >>> 8) & 255, ttl & 255, 0, 4, v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
    }
  });
  return Uint8Array.from(out);
}

/** A scripted DNS server on `stack` port 53 (UDP, and TCP when `tcp` is given). */
function dnsServer(stack: NetStack, udp: (q: Uint8Array) => Uint8Array[] | null, tcp?: (q: Uint8Array) => Uint8Array) {
  const s = stack.udpSocket();
  s.bind(0, 53);
  let queries = 0;
  const buf = new Uint8Array(1500);
  const from: SockAddr = { address: 0, port: 0 };
  s.watch(() => {
    for (let n = s.tryRecvFrom(buf, 0, 1500, from); n > 0; n = s.tryRecvFrom(buf, 0, 1500, from)) {
      queries++;
      for (const r of udp(buf.slice(0, n)) ?? []) s.sendTo(r, from.address, from.port);
    }
  });
  if (tcp) {
    const l = stack.tcpSocket();
    l.bind(0, 53);
    l.listen(4);
    void (async () => {
      for (;;) {
        const c = await l.accept();
        const b = new Uint8Array(600);
        let have = 0;
        while (have < 2 || have < 2 + ((b[0]! << 8) | b[1]!)) have += await c.read(b, have);
        const r = tcp(b.slice(2, have));
        const framed = new Uint8Array(r.length + 2);
        framed.set([r.length >>> 8, r.length & 255]);
        framed.set(r, 2);
        await c.write(framed);
        await c.close();
      }
    })();
  }
  return { queries: () => queries };
}

function rig() {
  const clock = new VirtualClock();
  return { clock, ...twoStacks({ clock }) };
}

describe('DNS stub resolver (RFC 1035)', () => {
  it('resolves A records, follows CNAMEs and caches by TTL', async () => {
    const { clock, a, b } = rig();
    const srv = dnsServer(b, (q) => [respond(q, [{ name: 'www.example.com', cname: 'web.example.com', ttl: 60 }, { name: 'web.example.com', a: 0x5db8d822, ttl: 300 }])]);
    const r = new DnsResolver(a, { servers: [ADDR_B] });
    expect(await settle(clock, r.resolve4('WWW.example.com'))).toEqual([0x5db8d822]);
    expect(await settle(clock, r.resolve4('www.example.com.'))).toEqual([0x5db8d822]);
    expect(srv.queries()).toBe(1);
    clock.advance(61_000); // the CNAME's TTL bounds the entry
    await settle(clock, r.resolve4('www.example.com'));
    expect(srv.queries()).toBe(2);
    expect(await settle(clock, r.resolve4('1.2.3.4'))).toEqual([0x01020304]);
  });

  it('reports NXDOMAIN as ENOENT and ignores answers with the wrong id', async () => {
    const { clock, a, b } = rig();
    dnsServer(b, (q) => [respond(q, [{ name: 'x', a: 1 }], 0, false, 1), respond(q, [], 3)]);
    const r = new DnsResolver(a, { servers: [ADDR_B] });
    await expect(settle(clock, r.resolve4('nope.example'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('moves to the next server on timeout, and fails with ETIMEDOUT when none answers', async () => {
    const { clock, a, b } = rig();
    dnsServer(b, (q) => [respond(q, [{ name: 'h.example', a: 7 }])]);
    const r = new DnsResolver(a, { servers: ['10.0.0.99', ADDR_B], timeoutMs: 1000 });
    expect(await settle(clock, r.resolve4('h.example'))).toEqual([7]);
    const dead = new DnsResolver(a, { servers: ['10.0.0.99'], timeoutMs: 1000, attempts: 2 });
    await expect(settle(clock, dead.resolve4('h.example'))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const { clock, a, b } = rig();
    dnsServer(b, (q) => [respond(q, [], 0, true)], (q) => respond(q, [{ name: 'big.example', a: 42 }]));
    const r = new DnsResolver(a, { servers: [ADDR_B] });
    expect(await settle(clock, r.resolve4('big.example'))).toEqual([42]);
  });

  it('rejects names that are not domain names', async () => {
    const { clock, a } = rig();
    const r = new DnsResolver(a, { servers: [ADDR_B] });
    await expect(settle(clock, r.resolve4('a..b'))).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('the response parser survives any bytes, including compression loops', () => {
    const loop = Uint8Array.of(0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1);
    expect(parseResponse(loop, 0, loop.length)).toBeNull();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        if (b.length > 5) b[5] = 1;
        const r = parseResponse(b, 0, b.length);
        return r === null || r.answers.length <= 64;
      }),
      { numRuns: 5000 },
    );
  });
});
