/// <reference types="node" />
// Interop with passt, from a capture of passt (0.0~git20230309) forwarding a host connection to guest port 7.
import { describe, expect, it } from 'vitest';
import { RawPeer } from './host/rawPeer.js';
import { flushJobs, settle } from './host/simulation.js';
import { VirtualClock } from './virtualClock.js';
import { TH_ACK, TH_SYN } from './internal/wire/tcp.js';

// passt's SYN: Win=65535, options MSS 61440, NOP, WS 8 (8 bytes, no padding).
const PASST_SYN_OPTIONS = [2, 4, 0xf0, 0x00, 1, 3, 3, 8];
const PASST_ISS = 2202938096;
const add = (a: number, n: number): number => (a + n) >>> 0;

/** The IPv4 total length of an Ethernet frame's packet. */
const ipTotal = (f: Uint8Array): number => (f[16]! << 8) | f[17]!;

function passtSide() {
  const clock = new VirtualClock(1000);
  const peer = new RawPeer(clock, {});
  const l = peer.stack.tcpSocket();
  l.setOption('SO_REUSEADDR', 1);
  l.bind(0, 7);
  l.listen(16);
  return { clock, peer, l };
}

describe('passt interop', () => {
  it("answers passt's SYN (MSS 61440, NOP, WS 8) with a SYN-ACK", async () => {
    const { peer } = passtSide();
    peer.send({ sport: 41494, dport: 7, seq: PASST_ISS, flags: TH_SYN, win: 65535, options: PASST_SYN_OPTIONS });
    await flushJobs();
    const synAck = peer.take();
    expect(synAck.flags).toBe(TH_SYN | TH_ACK);
    expect(synAck.ack).toBe(add(PASST_ISS, 1));
    expect(synAck.mss).toBe(1460); // our MTU − 40, whatever the peer offers
    expect(synAck.wscale).toBeGreaterThan(0);
  });

  it('sends every frame at its real length: no Ethernet padding after the IP packet (passt < 2023-08 drops padded frames)', async () => {
    const { clock, peer, l } = passtSide();
    const acc = l.accept();
    peer.send({ sport: 41494, dport: 7, seq: PASST_ISS, flags: TH_SYN, win: 65535, options: PASST_SYN_OPTIONS });
    await flushJobs();
    const synAck = peer.take();
    const iss = synAck.seq;
    // passt's first data segments carry the handshake's ACK, window 65535 << 8.
    let seq = add(PASST_ISS, 1);
    for (let i = 0; i < 3; i++) {
      peer.send({ sport: 41494, dport: 7, seq, ack: add(iss, 1), flags: TH_ACK, win: 65535, data: new Uint8Array(1460).fill(7) });
      seq = add(seq, 1460);
    }
    const c = await settle(clock, acc);
    const buf = new Uint8Array(16384);
    const n = c.tryRead(buf);
    expect(n).toBe(4380);
    expect(c.tryWrite(buf.subarray(0, n))).toBe(4380);
    await flushJobs();
    const sent = peer.drain();
    expect(sent.some((s) => s.data.length === 0 && s.flags === TH_ACK)).toBe(true); // a pure ACK, 54 bytes on the wire
    const ipFrames = peer.frames.filter((f) => f[12] === 0x08 && f[13] === 0x00);
    expect(ipFrames.length).toBeGreaterThan(2);
    for (const f of ipFrames) expect(f.length).toBe(14 + ipTotal(f));
    // The ARP request goes at its real 42 bytes too.
    const arp = peer.frames.filter((f) => f[12] === 0x08 && f[13] === 0x06);
    for (const f of arp) expect(f.length).toBe(42);
    expect(peer.badOutput).toBe(0);
  });

  it('the first window after a passive open is whole segments: the ACK of our SYN does not grow cwnd (RFC 5681 §3.1)', async () => {
    const { clock, peer, l } = passtSide();
    const acc = l.accept();
    peer.send({ sport: 41494, dport: 7, seq: PASST_ISS, flags: TH_SYN, win: 65535, options: PASST_SYN_OPTIONS });
    await flushJobs();
    const iss = peer.take().seq;
    peer.send({ sport: 41494, dport: 7, seq: add(PASST_ISS, 1), ack: add(iss, 1), flags: TH_ACK, win: 65535, data: new Uint8Array(1460).fill(7) });
    const c = await settle(clock, acc);
    expect(c.tryWrite(new Uint8Array(16384))).toBe(16384);
    await flushJobs();
    // More data from passt (it ACKs nothing yet): our ACKs of it must not carry a byte past the initial window.
    let seq = add(PASST_ISS, 1461);
    for (let i = 0; i < 4; i++) {
      peer.send({ sport: 41494, dport: 7, seq, ack: add(iss, 1), flags: TH_ACK, win: 65535, data: new Uint8Array(1460).fill(7) });
      seq = add(seq, 1460);
    }
    await flushJobs();
    const sent = peer.drain();
    expect(sent.some((s) => s.data.length === 0)).toBe(true);
    // Initial window 3 × 1460 (RFC 5681 §3.1 IW); no 1-byte segment squeezed in after it.
    expect(sent.filter((s) => s.data.length > 0).map((s) => s.data.length)).toEqual([1460, 1460, 1460]);
  });

  it('pads short frames on a link that declares minFrameLength 60', async () => {
    const clock = new VirtualClock(1000);
    const { createLinkPair } = await import('./linkPair.js');
    const { NetStack } = await import('./netStack.js');
    const { seededEntropy } = await import('./entropy.js');
    const [a, b] = createLinkPair({ minFrameLength: 60 });
    const frames: Uint8Array[] = [];
    b.setReceiver({ receiveFrame: (f, o, len) => frames.push(f.slice(o, o + len)) });
    const stack = new NetStack({ clock, timers: clock, entropy: seededEntropy(1) });
    stack.addInterface(a, { address: '10.0.0.1', prefixLength: 24 });
    const u = stack.udpSocket();
    u.sendTo(new Uint8Array(1), '10.0.0.2', 9); // needs ARP: a 42-byte request
    await flushJobs();
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) expect(f.length).toBe(60);
  });
});
