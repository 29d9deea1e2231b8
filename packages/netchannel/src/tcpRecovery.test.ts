/// <reference types="node" />
// Loss recovery and the remaining state transitions, against the scripted peer.
import { describe, expect, it } from 'vitest';
import { PEER_IP, RawPeer } from './host/rawPeer.js';
import { flushJobs, runFor, settle } from './host/simulation.js';
import { VirtualClock } from './virtualClock.js';
import { TH_ACK, TH_FIN, TH_RST, TH_SYN } from './internal/wire/tcp.js';

const NOP = 1;
const add = (a: number, n: number): number => (a + n) >>> 0;
const sackOpt = (...edges: number[]) => {
  const o = [NOP, NOP, 5, 2 + 4 * edges.length];
  for (const e of edges) o.push(e >>> 24, (e >>> 16) & 255, (e >>> 8) & 255, e & 255);
  return o;
};

async function open(sack: boolean, tcp: Record<string, number | boolean> = {}) {
  const clock = new VirtualClock(1000);
  const peer = new RawPeer(clock, { netChannels: false, tcp: { timestamps: false, ...tcp } });
  const l = peer.stack.tcpSocket();
  l.bind(0, 80);
  l.listen(4);
  const acc = l.accept();
  peer.send({ dport: 80, seq: 1000, flags: TH_SYN, win: 65535, options: [2, 4, 0x05, 0xb4, ...(sack ? [NOP, NOP, 4, 2] : [])] });
  const sa = peer.take();
  peer.send({ dport: 80, seq: 1001, ack: add(sa.seq, 1), flags: TH_ACK, win: 65535 });
  const sock = await settle(clock, acc);
  sock.setOption('TCP_NODELAY', 1);
  return { clock, peer, l, sock, iss: sa.seq, una: add(sa.seq, 1) };
}

/** Sends `bytes`, acknowledging every flight, so cwnd grows and everything ends acknowledged. Returns SND.UNA. */
function grow(peer: RawPeer, sock: { tryWrite(b: Uint8Array): number }, una: number, bytes: number): number {
  let ack = una;
  sock.tryWrite(new Uint8Array(bytes));
  for (let sent = peer.drain(); sent.length > 0; sent = peer.drain()) {
    for (const s of sent) ack = add(s.seq, s.data.length);
    peer.send({ dport: 80, seq: 1001, ack, flags: TH_ACK, win: 65535 });
  }
  return ack;
}

describe('TCP loss recovery', () => {
  it('SACK: retransmits exactly the hole the peer reports, before any timeout (RFC 6675)', async () => {
    const { peer, sock, una } = await open(true);
    const ack = grow(peer, sock, una, 30_000);
    sock.tryWrite(new Uint8Array(6 * 1460));
    const flight = peer.drain();
    expect(flight.length).toBeGreaterThanOrEqual(5);
    const lost = flight[0]!;
    // The peer got every segment but the first and SACKs them, one duplicate ACK each.
    for (let i = 1; i < flight.length; i++) {
      const end = add(flight[i]!.seq, flight[i]!.data.length);
      peer.send({ dport: 80, seq: 1001, ack, flags: TH_ACK, win: 65535, options: sackOpt(flight[1]!.seq, end) });
    }
    const rexmit = peer.drain().filter((s) => s.data.length > 0 && s.seq === lost.seq);
    expect(rexmit.length).toBe(1);
    expect(peer.stack.stats.tcpFastRetrans).toBe(1);
    expect(peer.stack.stats.tcpTimeouts).toBe(0);
  });

  it('NewReno: three duplicate ACKs retransmit, a partial ACK retransmits the next hole (RFC 6582)', async () => {
    const { peer, sock, una } = await open(false);
    const ack = grow(peer, sock, una, 30_000);
    sock.tryWrite(new Uint8Array(8 * 1460));
    const flight = peer.drain();
    const seqs = flight.map((s) => s.seq);
    for (let i = 0; i < 3; i++) peer.send({ dport: 80, seq: 1001, ack, flags: TH_ACK, win: 65535 });
    expect(peer.drain().filter((s) => s.seq === seqs[0]).length).toBe(1);
    // Segment 1 arrives; segment 3 was lost too: a partial ACK up to segment 3.
    peer.send({ dport: 80, seq: 1001, ack: seqs[2]!, flags: TH_ACK, win: 65535 });
    expect(peer.drain().filter((s) => s.seq === seqs[2]).length).toBe(1);
    expect(peer.stack.stats.tcpTimeouts).toBe(0);
  });

  it('Early retransmit (RFC 5827): with two segments out and nothing more to send, one duplicate ACK is enough', async () => {
    const { peer, sock, una } = await open(false);
    sock.tryWrite(new Uint8Array(2 * 1460));
    const [s1] = peer.drain();
    peer.send({ dport: 80, seq: 1001, ack: una, flags: TH_ACK, win: 65535 });
    expect(peer.drain().filter((s) => s.seq === s1!.seq).length).toBe(1);
  });
});

describe('more TCP transitions', () => {
  it('SYN-RECEIVED → LISTEN on an acceptable RST: the child goes, the listener stays', async () => {
    const clock = new VirtualClock(1000);
    const peer = new RawPeer(clock, { netChannels: false, tcp: { synBacklog: 1 } });
    const l = peer.stack.tcpSocket();
    l.bind(0, 80);
    l.listen(4);
    peer.send({ dport: 80, seq: 100, flags: TH_SYN });
    peer.take();
    peer.send({ dport: 80, seq: 101, flags: TH_RST });
    expect(peer.stack.resources().connections).toBe(1);
    peer.send({ sport: 40001, dport: 80, seq: 100, flags: TH_SYN });
    expect(peer.take().flags).toBe(TH_SYN | TH_ACK); // the SYN queue slot was freed
  });

  it('SYN-SENT → CLOSED when the application closes, without a RST', async () => {
    const clock = new VirtualClock(1000);
    const peer = new RawPeer(clock, { netChannels: false });
    const c = peer.stack.tcpSocket();
    void c.connect(PEER_IP, 80).catch(() => {});
    peer.take();
    await c.close();
    expect(c.state).toBe('CLOSED');
    expect(peer.drain()).toEqual([]);
    await runFor(clock, 100_000);
    expect(peer.stack.resources()).toMatchObject({ connections: 0, mbufsInUse: 0, arenaBytesInUse: 0 });
  });

  it('an orphan in FIN-WAIT-2 is closed after the FIN-WAIT-2 timeout', async () => {
    const { clock, peer, sock, una } = await open(false, { finWait2TimeoutMs: 30_000 });
    await sock.close();
    const fin = peer.take();
    expect(fin.flags & TH_FIN).toBeTruthy();
    peer.send({ dport: 80, seq: 1001, ack: add(una, 1), flags: TH_ACK });
    expect(sock.state).toBe('FIN-WAIT-2');
    await runFor(clock, 31_000);
    expect(sock.state).toBe('CLOSED');
  });

  it('CLOSE-WAIT can still send; a RST there resets', async () => {
    const { peer, sock, una } = await open(false);
    peer.send({ dport: 80, seq: 1001, ack: una, flags: TH_FIN | TH_ACK });
    expect(sock.state).toBe('CLOSE-WAIT');
    peer.drain();
    expect(sock.tryWrite(Uint8Array.of(1, 2, 3))).toBe(3);
    expect(peer.take().data.length).toBe(3);
    peer.send({ dport: 80, seq: 1002, flags: TH_RST });
    expect(sock.state).toBe('CLOSED');
    expect(sock.getOption('SO_ERROR')).toBe(104);
    expect(sock.tryWrite(Uint8Array.of(1))).toBe(-104);
  });

  it('a RST at RCV.NXT ends TIME-WAIT (as 4.4BSD and Linux do; RFC 1337 would ignore it)', async () => {
    const { peer, sock, una } = await open(false);
    await sock.close();
    peer.take();
    peer.send({ dport: 80, seq: 1001, ack: add(una, 1), flags: TH_FIN | TH_ACK });
    expect(sock.state).toBe('TIME-WAIT');
    peer.send({ dport: 80, seq: 1002, flags: TH_RST });
    expect(sock.state).toBe('CLOSED');
    await flushJobs();
  });
});
