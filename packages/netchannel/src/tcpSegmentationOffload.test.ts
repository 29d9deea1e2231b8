/// <reference types="node" />
/**
 * TCP segmentation offload (Link.tsoMaxBytes): over a link that segments
 * (TsoLink, the reference splitter with virtio-net's rules), TCP sends new
 * data as super-segments of several MSS pieces, and what reaches the peer
 * is byte for byte what the stack sends without the capability — the
 * offload changes how many pieces go in one frame, never which bytes are
 * allowed out or when. Links without the capability see only MTU-sized
 * frames; loss and recovery work through it.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { runFor, runUntil, settle } from './host/simulation.js';
import { receiveAll, sendAll } from './host/transfer.js';
import { TsoLink, splitTsoFrame, tcpFrameChecksumsValid } from './host/tsoLink.js';
import { seededEntropy } from './entropy.js';
import { impairLink } from './impairedLink.js';
import type { Link } from './link.js';
import { createLinkPair } from './linkPair.js';
import { NetStack } from './netStack.js';
import { VirtualClock } from './virtualClock.js';

const ADDR_A = 0x0a000001;
const ADDR_B = 0x0a000002;

interface Run {
  /** Every frame B's link end received, in order. */
  readonly frames: Uint8Array[];
  readonly a: NetStack;
  readonly b: NetStack;
  readonly link: TsoLink;
  readonly received: { bytes: number; sha256: string };
  readonly sent: string;
}

/**
 * A sends `bytes` (writes of `chunk` bytes, optionally TCP_NODELAY) to B
 * over a TsoLink advertising `tsoMax` (0: the capability off), through
 * `wrap` (an impairment) if given. Closes both ends and checks nothing leaked.
 */
async function transfer(tsoMax: number, bytes: number, chunk: number, noDelay: boolean, wrap?: (l: Link, clock: VirtualClock) => Link, refuseEvery = 0): Promise<Run> {
  const clock = new VirtualClock();
  const [la, lb] = createLinkPair();
  const link = new TsoLink(wrap ? wrap(la, clock) : la, tsoMax);
  link.refuseEvery = refuseEvery;
  const frames: Uint8Array[] = [];
  const tap: Link = {
    mac: lb.mac,
    mtu: lb.mtu,
    transmit: (f, o, n) => lb.transmit(f, o, n),
    setReceiver: (r) =>
      lb.setReceiver(
        r === null
          ? null
          : {
              receiveFrame: (f, o, n) => {
                frames.push(f.slice(o, o + n));
                r.receiveFrame(f, o, n);
              },
            },
      ),
  };
  const a = new NetStack({ clock, timers: clock, entropy: seededEntropy(1) });
  const b = new NetStack({ clock, timers: clock, entropy: seededEntropy(2) });
  a.addInterface(link, { address: ADDR_A });
  b.addInterface(tap, { address: ADDR_B });
  const l = b.tcpSocket();
  l.bind(0, 7000);
  l.listen(1);
  const acc = l.accept();
  const c = a.tcpSocket();
  if (noDelay) c.setOption('TCP_NODELAY', 1);
  await settle(clock, c.connect(ADDR_B, 7000));
  const s = await settle(clock, acc);
  let done = 0;
  let sent = '';
  let received = { bytes: 0, sha256: '' };
  void sendAll(c, bytes, 9, chunk).then((h) => ((sent = h), done++));
  void receiveAll(s).then((r) => ((received = r), done++));
  await runUntil(clock, () => done === 2);
  await c.close();
  await s.close();
  await l.close();
  await runFor(clock, 300_000);
  for (const st of [a, b]) expect(st.resources()).toMatchObject({ mbufsInUse: 0, connections: 0, arenaBytesInUse: 0 });
  return { frames, a, b, link, received, sent };
}

/** SHA-256 over every frame, each preceded by its length. */
function digest(frames: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const f of frames) h.update(Uint8Array.of(f.length >>> 8, f.length & 0xff)).update(f);
  return h.digest('hex');
}

describe('TCP segmentation offload (Link.tsoMaxBytes)', () => {
  it('sends super-segments over a link that segments, and a 4 MiB stream arrives whole', async () => {
    const r = await transfer(65536, 4 << 20, 65536, false);
    expect(r.received.bytes).toBe(4 << 20);
    expect(r.received.sha256).toBe(r.sent);
    expect(r.link.problems).toEqual([]);
    expect(r.link.superSegments).toBeGreaterThan(50);
    expect(r.link.largest).toBeGreaterThan(32_000); // the window opens past a few pieces
    expect(r.link.largest).toBeLessThanOrEqual(65536);
    expect(r.a.stats.tcpTsoFrames).toBe(r.link.superSegments);
    expect(r.a.stats.tcpTsoBytes).toBeGreaterThan(3 << 20); // most of the stream went as super-segments
    expect(r.frames.every((f) => f.length <= 1514)).toBe(true);
    expect(r.frames.filter((f) => f[23] === 6).every(tcpFrameChecksumsValid)).toBe(true);
    expect(r.b.stats.tcpInErrs).toBe(0);
  });

  for (const [chunk, noDelay] of [[65536, false], [3000, false], [3000, true], [777, true]] as const) {
    it(`puts on the wire exactly what per-segment output does (writes of ${chunk}${noDelay ? ', TCP_NODELAY' : ''})`, async () => {
      const plain = await transfer(0, 600_000, chunk, noDelay);
      const tso = await transfer(65536, 600_000, chunk, noDelay);
      expect(plain.link.superSegments).toBe(0);
      // Small writes with TCP_NODELAY go out as they come: nothing accumulates to batch.
      if (chunk >= 3000) expect(tso.link.superSegments).toBeGreaterThan(0);
      expect(tso.received.sha256).toBe(tso.sent);
      expect(tso.frames.length).toBe(plain.frames.length);
      expect(digest(tso.frames)).toBe(digest(plain.frames));
      expect(tso.a.stats.tcpOutSegs).toBe(plain.a.stats.tcpOutSegs);
    });
  }

  it('sends a super-segment the link refuses (-ENOBUFS) as the ordinary segments it would have become', async () => {
    const plain = await transfer(0, 600_000, 65536, false);
    const tso = await transfer(65536, 600_000, 65536, false, undefined, 3);
    expect(tso.link.refused).toBeGreaterThan(0);
    expect(tso.link.superSegments).toBeGreaterThan(0);
    expect(tso.a.stats.tcpTsoFrames).toBe(tso.link.superSegments);
    expect(digest(tso.frames)).toBe(digest(plain.frames));
    expect(tso.a.stats.tcpOutSegs).toBe(plain.a.stats.tcpOutSegs);
  });

  it('respects a smaller tsoMaxBytes', async () => {
    const r = await transfer(9000, 1 << 20, 65536, false);
    expect(r.received.sha256).toBe(r.sent);
    expect(r.link.superSegments).toBeGreaterThan(0);
    expect(r.link.largest).toBeLessThanOrEqual(9000);
    expect(r.link.problems).toEqual([]);
  });

  it('sends only MSS-sized segments over links without the capability', async () => {
    const r = await transfer(0, 1 << 20, 65536, false);
    expect(r.received.sha256).toBe(r.sent);
    expect(r.link.superSegments).toBe(0);
    expect(r.a.stats.tcpTsoFrames).toBe(0);
    expect(r.frames.every((f) => f.length <= 1514)).toBe(true);
    // And a plain link pair never gets asked at all.
    const clock = new VirtualClock();
    const [la, lb] = createLinkPair();
    let largest = 0;
    const a = new NetStack({ clock, timers: clock, entropy: seededEntropy(1) });
    const b = new NetStack({ clock, timers: clock, entropy: seededEntropy(2) });
    a.addInterface({ mac: la.mac, mtu: la.mtu, transmit: (f, o, n) => ((largest = Math.max(largest, n)), la.transmit(f, o, n)), setReceiver: (x) => la.setReceiver(x) }, { address: ADDR_A });
    b.addInterface(lb, { address: ADDR_B });
    const l = b.tcpSocket();
    l.bind(0, 7000);
    l.listen(1);
    const acc = l.accept();
    const c = a.tcpSocket();
    await settle(clock, c.connect(ADDR_B, 7000));
    const s = await settle(clock, acc);
    let got = { bytes: 0, sha256: '' };
    void sendAll(c, 200_000, 3);
    await settle(clock, receiveAll(s).then((x) => (got = x)));
    expect(got.bytes).toBe(200_000);
    expect(largest).toBe(1514);
    expect(a.stats.tcpTsoFrames).toBe(0);
  });

  it('recovers from loss with super-segments in flight (retransmissions stay MSS-sized)', async () => {
    const r = await transfer(65536, 2 << 20, 65536, false, (l, clock) => impairLink(l, { clock, timers: clock, seed: 7, outbound: { loss: 0.02 } }));
    expect(r.received.bytes).toBe(2 << 20);
    expect(r.received.sha256).toBe(r.sent);
    expect(r.a.stats.tcpRetransSegs).toBeGreaterThan(0);
    expect(r.link.superSegments).toBeGreaterThan(0);
    expect(r.link.problems).toEqual([]);
  });

  it('stops sending super-segments when the link loses the capability', async () => {
    const clock = new VirtualClock();
    const [la, lb] = createLinkPair();
    const link = new TsoLink(la);
    const a = new NetStack({ clock, timers: clock, entropy: seededEntropy(1) });
    const b = new NetStack({ clock, timers: clock, entropy: seededEntropy(2) });
    a.addInterface(link, { address: ADDR_A });
    b.addInterface(lb, { address: ADDR_B });
    const l = b.tcpSocket();
    l.bind(0, 7000);
    l.listen(1);
    const acc = l.accept();
    const c = a.tcpSocket();
    await settle(clock, c.connect(ADDR_B, 7000));
    const s = await settle(clock, acc);
    link.tsoMaxBytes = 0;
    let got = { bytes: 0, sha256: '' };
    const sent = sendAll(c, 500_000, 4);
    await settle(clock, receiveAll(s).then((x) => (got = x)));
    expect(got.sha256).toBe(await sent);
    expect(link.superSegments).toBe(0);
    expect(a.stats.tcpTsoFrames).toBe(0);
  });
});

describe('the reference splitter (splitTsoFrame)', () => {
  it('cuts a super-segment by the rules: lengths, ids, sequence numbers, FIN/PSH last, CWR first, checksums', () => {
    const payload = 5000;
    const f = new Uint8Array(14 + 20 + 32 + payload);
    f.set([0x08, 0x00], 12);
    f.set([0x45, 0, (f.length - 14) >>> 8, (f.length - 14) & 0xff, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
    f.set([0x1f, 0x40, 0x00, 0x50, 0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 1, 8 << 4, 0x80 | 0x10 | 0x08 | 0x01], 34);
    for (let i = 0; i < payload; i++) f[66 + i] = i * 13;
    const segs = splitTsoFrame(f, 1448);
    expect(segs.map((s) => s.length - 66)).toEqual([1448, 1448, 1448, 656]);
    expect(segs.map((s) => ((s[18]! << 8) | s[19]!) - 0x1234)).toEqual([0, 1, 2, 3]);
    expect(segs.map((s) => ((s[38]! << 24) | (s[39]! << 16) | (s[40]! << 8) | s[41]!) >>> 0)).toEqual([0xfffffff0, (0xfffffff0 + 1448) >>> 0, (0xfffffff0 + 2896) >>> 0, (0xfffffff0 + 4344) >>> 0]);
    expect(segs.map((s) => s[47])).toEqual([0x90, 0x10, 0x10, 0x19]);
    expect(segs.every(tcpFrameChecksumsValid)).toBe(true);
    expect(Buffer.concat(segs.map((s) => s.subarray(66)))).toEqual(Buffer.from(f.subarray(66)));
  });
});
