/// <reference types="node" />
/**
 * Transmit checksum offload (Link.txChecksumOffload / transmitOffload): a
 * stack over a link that computes checksums leaves TCP and UDP checksums
 * partial and the link fills them, as a virtio-net device does for
 * NEEDS_CSUM; what leaves through plain transmit (ARP, fragments, a link that
 * lost the capability) and what goes over loopback carries complete
 * checksums the stack computed itself.
 */
import { describe, expect, it } from 'vitest';
import { flushJobs, runFor, runUntil, settle } from './host/simulation.js';
import { receiveAll, sendAll } from './host/transfer.js';
import { seededEntropy } from './entropy.js';
import { checksum, pseudoHeaderSum, sumBytes, finishChecksum } from './internal/wire/checksum.js';
import type { Link, LinkReceiver } from './link.js';
import { createLinkPair } from './linkPair.js';
import { NetStack } from './netStack.js';
import { VirtualClock } from './virtualClock.js';

const ADDR_A = 0x0a000001;
const ADDR_B = 0x0a000002;

const get16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const get32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** True when the IPv4 TCP/UDP frame `f` (Ethernet first) has a transport checksum that verifies, or is no such frame. */
function transportChecksumValid(f: Uint8Array): boolean {
  if (get16(f, 12) !== 0x0800) return true;
  const hl = (f[14]! & 15) * 4;
  const proto = f[23]!;
  if ((get16(f, 20) & 0x3fff) !== 0) return true; // a fragment: the checksum covers the whole datagram
  if (proto !== 6 && proto !== 17) return true;
  const l4 = 14 + hl;
  const len = get16(f, 16) - hl;
  if (proto === 17 && get16(f, l4 + 6) === 0) return true;
  return finishChecksum(sumBytes(f, l4, len, pseudoHeaderSum(get32(f, 26), get32(f, 30), proto, len))) === 0;
}

/** A link end that computes checksums the way a virtio-net device does for NEEDS_CSUM, and checks what it is asked. */
class OffloadLink implements Link {
  txChecksumOffload = true;
  offloaded = 0;
  plain = 0;
  /** Problems seen: metadata that did not describe the frame, a field that did not hold the pseudo-header sum. */
  readonly problems: string[] = [];
  constructor(private readonly inner: Link) {}
  get mac(): Uint8Array {
    return this.inner.mac;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  transmit(frame: Uint8Array, offset: number, length: number): number {
    this.plain++;
    const f = frame.slice(offset, offset + length);
    if (!transportChecksumValid(f)) this.problems.push('plain frame with a bad checksum');
    return this.inner.transmit(f, 0, length);
  }
  transmitOffload(frame: Uint8Array, offset: number, length: number, csumStart: number, csumOffset: number): number {
    this.offloaded++;
    const f = frame.slice(offset, offset + length);
    const hl = (f[14]! & 15) * 4;
    const proto = f[23]!;
    const l4len = get16(f, 16) - hl;
    if (csumStart !== 14 + hl || csumOffset !== (proto === 6 ? 16 : proto === 17 ? 6 : -1)) this.problems.push(`metadata ${csumStart}/${csumOffset} for protocol ${proto}`);
    const folded = ~finishChecksum(pseudoHeaderSum(get32(f, 26), get32(f, 30), proto, l4len)) & 0xffff;
    if (get16(f, csumStart + csumOffset) !== folded) this.problems.push('partial field is not the folded pseudo-header sum');
    const sum = checksum(f, csumStart, length - csumStart);
    f[csumStart + csumOffset] = sum >>> 8;
    f[csumStart + csumOffset + 1] = sum & 0xff;
    if (!transportChecksumValid(f)) this.problems.push('device-completed checksum does not verify');
    return this.inner.transmit(f, 0, length);
  }
  setReceiver(receiver: LinkReceiver | null): void {
    this.inner.setReceiver(receiver);
  }
}

function setup() {
  const clock = new VirtualClock();
  const [la, lb] = createLinkPair();
  const link = new OffloadLink(la);
  const base = { clock, timers: clock };
  const a = new NetStack({ ...base, entropy: seededEntropy(1) });
  const b = new NetStack({ ...base, entropy: seededEntropy(2) });
  a.addInterface(link, { address: ADDR_A });
  b.addInterface(lb, { address: ADDR_B });
  return { clock, a, b, link };
}

describe('transmit checksum offload', () => {
  it('leaves TCP checksums to a capable link, and the peer verifies every segment', async () => {
    const { clock, a, b, link } = setup();
    const l = b.tcpSocket();
    l.bind(0, 7000);
    l.listen(1);
    const acc = l.accept();
    const c = a.tcpSocket();
    await settle(clock, c.connect(ADDR_B, 7000));
    const s = await settle(clock, acc);
    let done = 0;
    let sent = '';
    let got = { bytes: 0, sha256: '' };
    void sendAll(c, 300_000, 5).then((h) => ((sent = h), done++));
    void receiveAll(s).then((r) => ((got = r), done++));
    await runUntil(clock, () => done === 2);
    expect(got.bytes).toBe(300_000);
    expect(got.sha256).toBe(sent);
    expect(link.problems).toEqual([]);
    expect(link.offloaded).toBeGreaterThan(200); // every data segment went out partial
    expect(b.stats.tcpInErrs).toBe(0);
    await c.close();
    await s.close();
    await l.close();
    await runFor(clock, 300_000);
    for (const st of [a, b]) expect(st.resources()).toMatchObject({ mbufsInUse: 0, connections: 0 });
  });

  it('offloads small UDP datagrams, completes fragmented ones and loopback traffic in software', async () => {
    const { clock, a, b, link } = setup();
    const sb = b.udpSocket();
    sb.bind(0, 53);
    const sa = a.udpSocket();
    const buf = new Uint8Array(65536);
    expect(sa.sendTo(Uint8Array.of(1, 2, 3), ADDR_B, 53)).toBe(3);
    expect((await settle(clock, sb.recvFrom(buf))).bytes).toBe(3);
    const before = link.offloaded;
    const big = Uint8Array.from({ length: 20_000 }, (_, i) => (i * 7) & 255);
    expect(sa.sendTo(big, ADDR_B, 53)).toBe(20_000);
    const d = await settle(clock, sb.recvFrom(buf));
    expect(d.bytes).toBe(20_000);
    expect(Buffer.compare(buf.subarray(0, 20_000), big)).toBe(0);
    expect(link.offloaded).toBe(before); // fragments: the stack finished the checksum
    // Loopback verifies checksums like any interface: a partial one would be dropped.
    const lo = a.udpSocket();
    lo.bind(0x7f000001, 99);
    expect(sa.sendTo(Uint8Array.of(9, 8), 0x7f000001, 99)).toBe(2);
    await flushJobs();
    expect(lo.tryRecvFrom(buf, 0, 64, { address: 0, port: 0 })).toBe(2);
    expect(a.stats.udpInErrors).toBe(0);
    expect(b.stats.udpInErrors).toBe(0);
    expect(link.problems).toEqual([]);
  });

  it('completes checksums in software once the link loses the capability', async () => {
    const { clock, b, a, link } = setup();
    link.txChecksumOffload = false;
    const sb = b.udpSocket();
    sb.bind(0, 53);
    expect(a.udpSocket().sendTo(Uint8Array.of(4, 5, 6, 7), ADDR_B, 53)).toBe(4);
    expect((await settle(clock, sb.recvFrom(new Uint8Array(64)))).bytes).toBe(4);
    expect(link.offloaded).toBe(0);
    expect(link.plain).toBeGreaterThan(1);
    expect(link.problems).toEqual([]);
    expect(b.stats.udpInErrors).toBe(0);
  });

  it('computes every checksum itself over links without the capability', async () => {
    const clock = new VirtualClock();
    const [la, lb] = createLinkPair();
    const seen: boolean[] = [];
    const check: Link = {
      mac: la.mac,
      mtu: la.mtu,
      transmit: (f, o, n) => (seen.push(transportChecksumValid(f.slice(o, o + n))), la.transmit(f, o, n)),
      setReceiver: (r) => la.setReceiver(r),
    };
    const a = new NetStack({ clock, timers: clock, entropy: seededEntropy(1) });
    const b = new NetStack({ clock, timers: clock, entropy: seededEntropy(2) });
    a.addInterface(check, { address: ADDR_A });
    b.addInterface(lb, { address: ADDR_B });
    const sb = b.udpSocket();
    sb.bind(0, 53);
    expect(a.udpSocket().sendTo(Uint8Array.of(1), ADDR_B, 53)).toBe(1);
    expect((await settle(clock, sb.recvFrom(new Uint8Array(8)))).bytes).toBe(1);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every(Boolean)).toBe(true);
  });
});
