/// <reference types="node" />
// Hostile-peer fuzzing: random and mutated frames into a stack with a listener,
// an established connection, a UDP socket and a packet hook. Nothing may throw,
// the stack's own output must stay well-formed, and once everything is closed and
// the timers have run out, no mbuf, connection, socket or buffer may remain.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { etherFrame, ipPacket, PEER_IP, PEER_MAC, RawPeer, STACK_IP, STACK_MAC, tcpSegment } from './host/rawPeer.js';
import { runFor, settle } from './host/simulation.js';
import { MBUF_SIZE } from './mbufPool.js';
import { VirtualClock } from './virtualClock.js';
import { TH_ACK, TH_SYN } from './internal/wire/tcp.js';

const SOAK = !!process.env['OSV_SOAK'];

function sum16(b: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  for (let i = start; i + 1 < end; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if ((end - start) & 1) s += b[end - 1]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** Repairs the IPv4 header checksum and the TCP/UDP/ICMP checksum of a (mutated) frame, so mutations reach deep code. */
function fixChecksums(f: Uint8Array): void {
  if (f.length < 34 || f[12] !== 8 || f[13] !== 0) return;
  const ihl = (f[14]! & 15) * 4;
  if (ihl < 20 || 14 + ihl > f.length) return;
  f[24] = f[25] = 0;
  const c = ~sum16(f, 14, 14 + ihl) & 0xffff;
  f[24] = c >>> 8;
  f[25] = c & 255;
  const tot = Math.min((f[16]! << 8) | f[17]!, f.length - 14);
  const l4 = 14 + ihl;
  const l4len = 14 + tot - l4;
  const proto = f[23]!;
  const at = proto === 6 ? 16 : proto === 17 ? 6 : proto === 1 ? 2 : -1;
  if (at < 0 || l4len < at + 2) return;
  f[l4 + at] = f[l4 + at + 1] = 0;
  let acc = 0;
  if (proto !== 1) acc = sum16(f, 26, 34, proto + l4len);
  const s = ~sum16(f, l4, l4 + l4len, acc) & 0xffff;
  f[l4 + at] = s >>> 8;
  f[l4 + at + 1] = s & 255;
}

interface Ctx {
  seq: number;
  ack: number;
  lport: number;
}

function templates(ctx: Ctx): Uint8Array[] {
  const ip = (proto: number, payload: Uint8Array, o = {}) => etherFrame(STACK_MAC, PEER_MAC, 0x0800, ipPacket(PEER_IP, STACK_IP, proto, payload, o));
  const udp = new Uint8Array(20);
  udp.set([0x30, 0x39, 0, 53, 0, 20, 0, 0]);
  const arp = new Uint8Array(28);
  arp.set([0, 1, 8, 0, 6, 4, 0, 1, ...PEER_MAC, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
  return [
    ip(6, tcpSegment(PEER_IP, STACK_IP, { sport: 40000, dport: 80, seq: ctx.seq, ack: ctx.ack, flags: TH_ACK, data: new Uint8Array(40).fill(7) })),
    ip(6, tcpSegment(PEER_IP, STACK_IP, { sport: 40000, dport: 80, seq: ctx.seq, ack: ctx.ack, flags: TH_ACK, options: [1, 1, 5, 10, 0, 0, 0, 0, 0, 0, 0, 0] })),
    ip(6, tcpSegment(PEER_IP, STACK_IP, { sport: 41000, dport: 80, seq: 5, flags: TH_SYN, options: [2, 4, 5, 180, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0] })),
    ip(17, udp),
    ip(17, udp, { id: 9, mf: true }),
    ip(17, udp.subarray(0, 16), { id: 9, fragOff: 16 }),
    ip(1, Uint8Array.of(8, 0, 0, 0, 0, 1, 0, 1, 1, 2, 3, 4)),
    etherFrame(new Uint8Array(6).fill(255), PEER_MAC, 0x0806, arp),
  ];
}

type FrameSpec =
  | { kind: 'random'; b: Uint8Array }
  | { kind: 'mutated'; t: number; flips: [number, number][]; cut: number | undefined; fix: boolean };

const frameSpec: fc.Arbitrary<FrameSpec> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 1600 }).map((b) => ({ kind: 'random' as const, b })) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      t: fc.nat(7),
      flips: fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 6 }),
      cut: fc.option(fc.nat(200), { nil: undefined }),
      fix: fc.boolean(),
    }),
  },
);

async function fuzzRun(specs: FrameSpec[]): Promise<void> {
  const clock = new VirtualClock(1000);
  const peer = new RawPeer(clock, { memory: { byteLength: 4 << 20, mbufCount: 512 }, netChannels: specs.length % 2 === 0, tcp: { synRetries: 2, retries: 3 } });
  const stack = peer.stack;
  stack.addHook('ip', (p) => (p.protocol === 17 && p.l4Length > 30 ? p.replyUdp(4) === 0 ? 1 : 0 : 0));
  const l = stack.tcpSocket();
  l.bind(0, 80);
  l.listen(16);
  const u = stack.udpSocket();
  u.bind(0, 53);
  const acc = l.accept();
  peer.send({ sport: 40000, dport: 80, seq: 1000, flags: TH_SYN, options: [2, 4, 5, 180, 1, 3, 3, 7, 4, 2] });
  const sa = peer.take();
  peer.send({ sport: 40000, dport: 80, seq: 1001, ack: (sa.seq + 1) >>> 0, flags: TH_ACK });
  const conn = await settle(clock, acc);
  conn.tryWrite(new Uint8Array(3000));
  const tpl = templates({ seq: 1001, ack: (sa.seq + 1) >>> 0, lport: 80 });
  for (const s of specs) {
    let f: Uint8Array;
    if (s.kind === 'random') {
      f = s.b;
    } else {
      f = tpl[s.t]!.slice();
      for (const [pos, v] of s.flips) if (pos < f.length) f[pos] = v;
      if (s.cut !== undefined) f = f.subarray(0, s.cut);
      if (s.fix) fixChecksums(f);
    }
    peer.sendFrame(f);
    if (f.length > 0 && f[0]! & 1) clock.advance(5);
  }
  const buf = new Uint8Array(MBUF_SIZE);
  while (conn.tryRead(buf) > 0) { /* drain */ }
  while (u.tryRecvFrom(buf) >= 0) { /* drain */ }
  expect(peer.badOutput).toBe(0);
  conn.abort();
  u.close();
  await l.close();
  await runFor(clock, 600_000);
  expect(stack.resources()).toMatchObject({ mbufsInUse: 0, connections: 0, sockets: 0, arenaBytesInUse: 0, fragmentsHeld: 0, arpHeld: 0 });
}

describe('fuzzing with hostile frames', () => {
  it('survives random and mutated frames without throwing or leaking', async () => {
    await fc.assert(fc.asyncProperty(fc.array(frameSpec, { minLength: 1, maxLength: 120 }), fuzzRun), { numRuns: Number(process.env["FUZZ_RUNS"] ?? 120) });
  });

  // About a million frames: minutes of CPU, so soak-only.
  it.skipIf(!SOAK)('survives a million frames (soak)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(frameSpec, { minLength: 900, maxLength: 1100 }), fuzzRun), { numRuns: 1000 });
  }, 3_600_000);
});
