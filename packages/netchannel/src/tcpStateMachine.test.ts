/// <reference types="node" />
// RFC 9293 §3.3.2 state machine, transition by transition, against a scripted peer.
import { describe, expect, it } from 'vitest';
import { PEER_IP, RawPeer, STACK_IP, type SentSegment } from './host/rawPeer.js';
import { flushJobs, runFor, settle } from './host/simulation.js';
import type { TcpSocket } from './tcpSocket.js';
import { VirtualClock } from './virtualClock.js';
import { TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN } from './internal/wire/tcp.js';

const MSS_1460 = [2, 4, 0x05, 0xb4];
const NOP = 1;
const add = (a: number, n: number): number => (a + n) >>> 0;

function setup(opts: { tcp?: Record<string, number | boolean> } = {}) {
  const clock = new VirtualClock(1000);
  const peer = new RawPeer(clock, { netChannels: false, tcp: { timestamps: false, ...opts.tcp } });
  return { clock, peer, stack: peer.stack };
}

/** Passive open up to ESTABLISHED; returns the accepted socket and both ISNs. */
async function passiveOpen(clock: VirtualClock, peer: RawPeer, port = 80, peerIss = 1000) {
  const l = peer.stack.tcpSocket();
  l.bind(0, port);
  l.listen(8);
  const acc = l.accept();
  peer.send({ dport: port, seq: peerIss, flags: TH_SYN, options: MSS_1460 });
  const synAck = peer.take();
  expect(synAck.flags).toBe(TH_SYN | TH_ACK);
  expect(synAck.ack).toBe(peerIss + 1);
  peer.send({ dport: port, seq: peerIss + 1, ack: add(synAck.seq, 1), flags: TH_ACK });
  const sock = await settle(clock, acc);
  return { l, sock, iss: synAck.seq, irs: peerIss, synAck };
}

/** Active open up to ESTABLISHED against the scripted peer. */
async function activeOpen(clock: VirtualClock, peer: RawPeer, peerIss = 5000, options: number[] = MSS_1460) {
  const c = peer.stack.tcpSocket();
  const conn = c.connect(PEER_IP, 80);
  await flushJobs();
  const syn = peer.take();
  expect(syn.flags).toBe(TH_SYN);
  peer.send({ sport: 80, dport: syn.sport, seq: peerIss, ack: add(syn.seq, 1), flags: TH_SYN | TH_ACK, options });
  await settle(clock, conn);
  const ack = peer.take();
  expect(ack.flags).toBe(TH_ACK);
  expect(ack.ack).toBe(peerIss + 1);
  return { c, syn, iss: syn.seq, irs: peerIss, lport: syn.sport };
}

describe('TCP handshakes', () => {
  it('CLOSED → LISTEN → SYN-RECEIVED → ESTABLISHED (passive open)', async () => {
    const { clock, peer } = setup();
    const { sock, synAck } = await passiveOpen(clock, peer);
    expect(sock.state).toBe('ESTABLISHED');
    expect(synAck.mss).toBe(1460);
    expect(synAck.sackPermitted).toBeUndefined(); // the peer offered no SACK
    expect(synAck.wscale).toBeUndefined(); // nor window scaling: a SYN-ACK only echoes what was offered
    expect(peer.badOutput).toBe(0);
  });

  it('CLOSED → SYN-SENT → ESTABLISHED (active open) offering MSS, window scale and SACK', async () => {
    const { clock, peer } = setup();
    const { c, syn } = await activeOpen(clock, peer);
    expect(c.state).toBe('ESTABLISHED');
    expect(syn.mss).toBe(1460);
    expect(syn.wscale).toBeGreaterThan(0);
    expect(syn.sackPermitted).toBe(true);
  });

  it('simultaneous open: SYN-SENT → SYN-RECEIVED → ESTABLISHED (RFC 9293 §3.5 figure 8)', async () => {
    const { clock, peer } = setup();
    const c = peer.stack.tcpSocket();
    c.bind(0, 3000);
    const conn = c.connect(PEER_IP, 4000);
    const syn = peer.take();
    // The peer's own SYN crosses ours.
    peer.send({ sport: 4000, dport: 3000, seq: 7000, flags: TH_SYN, options: MSS_1460 });
    expect(c.state).toBe('SYN-RECEIVED');
    const synAck = peer.take();
    expect(synAck.flags).toBe(TH_SYN | TH_ACK);
    expect(synAck.seq).toBe(syn.seq); // same ISS
    expect(synAck.ack).toBe(7001);
    // The peer's SYN,ACK (its answer to our SYN) completes it.
    peer.send({ sport: 4000, dport: 3000, seq: 7000, ack: add(syn.seq, 1), flags: TH_SYN | TH_ACK, options: MSS_1460 });
    await settle(clock, conn);
    expect(c.state).toBe('ESTABLISHED');
  });

  it('SYN-RECEIVED retransmits the SYN-ACK when the peer repeats its SYN', async () => {
    const { peer } = setup();
    const l = peer.stack.tcpSocket();
    l.bind(0, 80);
    l.listen(4);
    peer.send({ dport: 80, seq: 1000, flags: TH_SYN });
    const a = peer.take();
    peer.send({ dport: 80, seq: 1000, flags: TH_SYN });
    const b = peer.take();
    expect(b.flags).toBe(TH_SYN | TH_ACK);
    expect(b.seq).toBe(a.seq);
  });

  it('SYN-SENT: a RST with an acceptable ACK refuses the connection; without ACK it is ignored (RFC 5961 §3)', async () => {
    const { clock, peer } = setup();
    const c = peer.stack.tcpSocket();
    const conn = c.connect(PEER_IP, 80).catch((e: unknown) => e);
    const syn = peer.take();
    peer.send({ sport: 80, dport: syn.sport, seq: 0, flags: TH_RST });
    expect(c.state).toBe('SYN-SENT');
    peer.send({ sport: 80, dport: syn.sport, seq: 0, ack: add(syn.seq, 1), flags: TH_RST | TH_ACK });
    const err = await settle(clock, conn);
    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
    expect(c.state).toBe('CLOSED');
  });

  it('SYN-SENT: an ACK for the wrong sequence draws a RST and changes nothing', async () => {
    const { peer } = setup();
    const c = peer.stack.tcpSocket();
    void c.connect(PEER_IP, 80).catch(() => {});
    const syn = peer.take();
    peer.send({ sport: 80, dport: syn.sport, seq: 9, ack: add(syn.seq, 77), flags: TH_ACK });
    const rst = peer.take();
    expect(rst.flags & TH_RST).toBeTruthy();
    expect(rst.seq).toBe(add(syn.seq, 77));
    expect(c.state).toBe('SYN-SENT');
  });

  it('connect to a closed port gets RST and ECONNREFUSED; a stray segment to a closed port gets RST per RFC 9293 §3.10.7.1', async () => {
    const { peer } = setup();
    peer.send({ dport: 9, seq: 100, flags: TH_SYN });
    const r1 = peer.take();
    expect(r1.flags).toBe(TH_RST | TH_ACK);
    expect(r1.seq).toBe(0);
    expect(r1.ack).toBe(101);
    peer.send({ dport: 9, seq: 100, ack: 4242, flags: TH_ACK, data: new Uint8Array(10) });
    const r2 = peer.take();
    expect(r2.flags).toBe(TH_RST);
    expect(r2.seq).toBe(4242);
    peer.send({ dport: 9, seq: 100, flags: TH_RST });
    expect(peer.drain()).toEqual([]); // never a RST for a RST
  });

  it('LISTEN answers an ACK with RST and ignores RST', async () => {
    const { peer } = setup();
    const l = peer.stack.tcpSocket();
    l.bind(0, 80);
    l.listen(4);
    peer.send({ dport: 80, seq: 1, ack: 555, flags: TH_ACK });
    expect(peer.take()).toMatchObject({ flags: TH_RST, seq: 555 });
    peer.send({ dport: 80, seq: 1, flags: TH_RST });
    expect(peer.drain()).toEqual([]);
  });

  it('connect times out with ETIMEDOUT after the SYN retries, backing off exponentially', async () => {
    const { clock, peer } = setup({ tcp: { synRetries: 3 } });
    const c = peer.stack.tcpSocket();
    const err = settle(clock, c.connect(PEER_IP, 80).catch((e: unknown) => e));
    const e = await err;
    expect(e).toMatchObject({ code: 'ETIMEDOUT' });
    const syns = peer.drain().filter((s) => s.flags === TH_SYN);
    expect(syns.length).toBe(4);
    expect(peer.stack.resources()).toMatchObject({ connections: 0 });
  });

  it('a listener drops SYNs beyond its SYN backlog and its accept backlog', async () => {
    const { peer, stack } = setup({ tcp: { synBacklog: 2 } });
    const l = stack.tcpSocket();
    l.bind(0, 80);
    l.listen(1);
    for (let i = 0; i < 5; i++) peer.send({ sport: 2000 + i, dport: 80, seq: 100, flags: TH_SYN });
    expect(peer.drain().filter((s) => s.flags === (TH_SYN | TH_ACK)).length).toBe(2);
    expect(stack.stats.tcpListenOverflows).toBe(3);
  });

  it('a SYN flood holds no buffer memory: buffers come with ESTABLISHED, and a connection that cannot get them is reset', async () => {
    const clock = new VirtualClock(1000);
    // Arena: 2 × 64 KiB scratch + room for one connection's two 16 KiB starting rings.
    const peer = new RawPeer(clock, { netChannels: false, memory: { byteLength: 64 * 2048 + 160 * 1024, mbufCount: 64 }, tcp: { sendBufferBytes: 65536, receiveBufferBytes: 65536 } });
    const stack = peer.stack;
    const l = stack.tcpSocket();
    l.bind(0, 80);
    l.listen(200);
    const synAcks: number[] = [];
    for (let i = 0; i < 150; i++) {
      peer.send({ sport: 10_000 + i, dport: 80, seq: 100, flags: TH_SYN });
      synAcks.push(peer.take().seq);
    }
    expect(stack.resources().arenaBytesInUse).toBe(0);
    peer.send({ sport: 10_000, dport: 80, seq: 101, ack: add(synAcks[0]!, 1), flags: TH_ACK });
    expect(stack.resources().arenaBytesInUse).toBe(32 * 1024);
    peer.send({ sport: 10_001, dport: 80, seq: 101, ack: add(synAcks[1]!, 1), flags: TH_ACK });
    expect(peer.take().flags & TH_RST).toBeTruthy();
    await l.close();
    await runFor(clock, 300_000);
    expect(stack.resources()).toMatchObject({ arenaBytesInUse: 0, connections: 0, mbufsInUse: 0 });
  });

  it('a full accept queue (listen backlog) turns further SYNs away until accept() makes room', async () => {
    const { clock, peer, stack } = setup();
    const l = stack.tcpSocket();
    l.bind(0, 80);
    l.listen(1);
    peer.send({ sport: 2000, dport: 80, seq: 100, flags: TH_SYN });
    const sa = peer.take();
    peer.send({ sport: 2000, dport: 80, seq: 101, ack: add(sa.seq, 1), flags: TH_ACK });
    peer.send({ sport: 2001, dport: 80, seq: 100, flags: TH_SYN });
    expect(peer.drain()).toEqual([]);
    expect(stack.stats.tcpListenOverflows).toBe(1);
    await settle(clock, l.accept());
    peer.send({ sport: 2001, dport: 80, seq: 100, flags: TH_SYN });
    expect(peer.take().flags).toBe(TH_SYN | TH_ACK);
  });

  it('an unanswered SYN-RECEIVED child times out and frees its slot', async () => {
    const { clock, peer, stack } = setup({ tcp: { synBacklog: 1, synRetries: 2 } });
    const l = stack.tcpSocket();
    l.bind(0, 80);
    l.listen(4);
    peer.send({ sport: 2000, dport: 80, seq: 100, flags: TH_SYN });
    await runFor(clock, 60_000);
    expect(peer.drain().filter((s) => s.flags === (TH_SYN | TH_ACK)).length).toBe(3);
    expect(stack.resources().connections).toBe(1); // just the listener
    peer.send({ sport: 2001, dport: 80, seq: 100, flags: TH_SYN });
    expect(peer.take().flags).toBe(TH_SYN | TH_ACK);
  });
});

describe('TCP close', () => {
  it('ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED (active close)', async () => {
    const { clock, peer, stack } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    await sock.close();
    const fin = peer.take();
    expect(fin.flags).toBe(TH_FIN | TH_ACK);
    expect(sock.state).toBe('FIN-WAIT-1');
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 2), flags: TH_ACK });
    expect(sock.state).toBe('FIN-WAIT-2');
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 2), flags: TH_FIN | TH_ACK });
    expect(sock.state).toBe('TIME-WAIT');
    expect(peer.take()).toMatchObject({ flags: TH_ACK, ack: irs + 2 });
    // A retransmitted FIN in TIME-WAIT is acknowledged again.
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 2), flags: TH_FIN | TH_ACK });
    expect(peer.take()).toMatchObject({ flags: TH_ACK, ack: irs + 2 });
    await runFor(clock, 59_000);
    expect(sock.state).toBe('TIME-WAIT');
    await runFor(clock, 2_000); // 2 MSL = 60 s
    expect(sock.state).toBe('CLOSED');
  });

  it('FIN-WAIT-1 → TIME-WAIT when FIN and ACK arrive together', async () => {
    const { clock, peer } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    sock.shutdown(1);
    peer.take();
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 2), flags: TH_FIN | TH_ACK });
    expect(sock.state).toBe('TIME-WAIT');
  });

  it('simultaneous close: FIN-WAIT-1 → CLOSING → TIME-WAIT', async () => {
    const { clock, peer } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    sock.shutdown(1);
    expect(peer.take().flags).toBe(TH_FIN | TH_ACK);
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_FIN | TH_ACK }); // FIN crosses ours
    expect(sock.state).toBe('CLOSING');
    expect(peer.take()).toMatchObject({ ack: irs + 2 });
    peer.send({ dport: 80, seq: irs + 2, ack: add(iss, 2), flags: TH_ACK });
    expect(sock.state).toBe('TIME-WAIT');
  });

  it('ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED (passive close), reads see end of stream', async () => {
    const { clock, peer, stack } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_FIN | TH_ACK | TH_PUSH, data: Uint8Array.of(1, 2, 3) });
    expect(sock.state).toBe('CLOSE-WAIT');
    const buf = new Uint8Array(10);
    expect(sock.tryRead(buf)).toBe(3);
    expect(sock.tryRead(buf)).toBe(0);
    await sock.close();
    const fin = peer.drain().pop()!;
    expect(fin.flags & TH_FIN).toBeTruthy();
    expect(sock.state).toBe('LAST-ACK');
    peer.send({ dport: 80, seq: irs + 5, ack: add(iss, 2), flags: TH_ACK });
    expect(sock.state).toBe('CLOSED');
    await runFor(clock, 1000);
    expect(stack.resources()).toMatchObject({ connections: 1, mbufsInUse: 0 });
  });

  it('a FIN that arrives before missing data is held until the data fills in', async () => {
    const { clock, peer } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    peer.send({ dport: 80, seq: irs + 4, ack: add(iss, 1), flags: TH_FIN | TH_ACK, data: Uint8Array.of(4, 5) });
    expect(sock.state).toBe('ESTABLISHED');
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, data: Uint8Array.of(1, 2, 3) });
    expect(sock.state).toBe('CLOSE-WAIT');
    const buf = new Uint8Array(10);
    expect(sock.tryRead(buf)).toBe(5);
    expect([...buf.subarray(0, 5)]).toEqual([1, 2, 3, 4, 5]);
  });

  it('close with unread data resets the connection (RFC 2525 §2.17)', async () => {
    const { clock, peer } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, data: Uint8Array.of(1) });
    peer.drain();
    await sock.close();
    expect(peer.take().flags & TH_RST).toBeTruthy();
  });

  it('SO_LINGER 0 aborts with RST; SO_LINGER > 0 waits for the FIN to be acknowledged', async () => {
    const { clock, peer } = setup();
    const { sock } = await passiveOpen(clock, peer);
    sock.setOption('SO_LINGER', 0);
    await sock.close();
    expect(peer.take().flags & TH_RST).toBeTruthy();

    const second = await passiveOpen(clock, peer, 81, 9000);
    second.sock.setOption('SO_LINGER', 5);
    let closed = false;
    void second.sock.close().then(() => (closed = true));
    await flushJobs();
    expect(peer.take().flags & TH_FIN).toBeTruthy();
    expect(closed).toBe(false);
    peer.send({ dport: 81, seq: 9001, ack: add(second.iss, 2), flags: TH_ACK });
    await flushJobs();
    expect(closed).toBe(true);
  });

  it('closing a listener resets connections it had not handed out', async () => {
    const { peer } = setup();
    const l = peer.stack.tcpSocket();
    l.bind(0, 80);
    l.listen(4);
    peer.send({ dport: 80, seq: 100, flags: TH_SYN });
    const sa = peer.take();
    peer.send({ dport: 80, seq: 101, ack: add(sa.seq, 1), flags: TH_ACK });
    await l.close();
    expect(peer.take().flags & TH_RST).toBeTruthy();
    expect(peer.stack.resources()).toMatchObject({ connections: 0, sockets: 0 });
  });

  it('TIME-WAIT is ended by a new SYN with a higher sequence number (RFC 6191)', async () => {
    const { clock, peer } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    await sock.close();
    peer.take();
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 2), flags: TH_FIN | TH_ACK });
    expect(sock.state).toBe('TIME-WAIT');
    peer.drain();
    peer.send({ dport: 80, seq: irs + 100_000, flags: TH_SYN });
    const sa = peer.take();
    expect(sa.flags).toBe(TH_SYN | TH_ACK);
    expect(((sa.seq - iss) | 0) > 0).toBe(true);
  });
});

describe('TCP RFC 5961 protections', () => {
  it('a RST exactly at RCV.NXT resets; in-window draws a challenge ACK; outside is ignored', async () => {
    const { clock, peer } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    peer.send({ dport: 80, seq: irs + 1 + 1000, flags: TH_RST });
    expect(peer.take()).toMatchObject({ flags: TH_ACK, seq: add(iss, 1), ack: irs + 1 });
    expect(sock.state).toBe('ESTABLISHED');
    peer.send({ dport: 80, seq: irs + 1 + 10_000_000, flags: TH_RST });
    expect(peer.drain()).toEqual([]);
    expect(sock.state).toBe('ESTABLISHED');
    peer.send({ dport: 80, seq: irs + 1, flags: TH_RST });
    expect(sock.state).toBe('CLOSED');
    await expect(settle(clock, sock.read(new Uint8Array(4)))).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('a SYN on an established connection draws a challenge ACK, rate-limited', async () => {
    const { clock, peer, stack } = setup({ tcp: { challengeAckLimit: 3 } });
    const { sock, irs } = await passiveOpen(clock, peer);
    for (let i = 0; i < 5; i++) peer.send({ dport: 80, seq: irs + 50 + i, flags: TH_SYN });
    expect(peer.drain().length).toBe(3);
    expect(stack.stats.tcpChallengeAcksSuppressed).toBe(2);
    expect(sock.state).toBe('ESTABLISHED');
  });

  it('an ACK for data never sent is answered with an ACK and dropped', async () => {
    const { clock, peer } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 5000), flags: TH_ACK, data: Uint8Array.of(9) });
    expect(peer.take()).toMatchObject({ flags: TH_ACK, ack: irs + 1 });
    expect(sock.readableBytes).toBe(0);
  });

  it('segments with a bad checksum are dropped silently', async () => {
    const { clock, peer, stack } = setup();
    const { sock, iss, irs } = await passiveOpen(clock, peer);
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, data: Uint8Array.of(1, 2), badChecksum: true });
    expect(sock.readableBytes).toBe(0);
    expect(stack.stats.tcpInErrs).toBe(1);
  });
});

describe('TCP data transfer rules', () => {
  async function established() {
    const s = setup();
    const o = await passiveOpen(s.clock, s.peer);
    return { ...s, ...o };
  }

  it('acknowledges old duplicates at once and accepts the in-window part of an overlapping segment', async () => {
    const { peer, sock, iss, irs } = await established();
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, data: Uint8Array.of(1, 2, 3) });
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, data: Uint8Array.of(1, 2, 3) });
    expect(peer.take()).toMatchObject({ ack: irs + 4 });
    peer.send({ dport: 80, seq: irs + 2, ack: add(iss, 1), flags: TH_ACK, data: Uint8Array.of(2, 3, 4, 5) });
    const buf = new Uint8Array(10);
    expect(sock.tryRead(buf)).toBe(5);
    expect([...buf.subarray(0, 5)]).toEqual([1, 2, 3, 4, 5]);
  });

  it('delays the ACK of one segment and acknowledges every second one at once', async () => {
    const { clock, peer, iss, irs } = await established();
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, data: new Uint8Array(100) });
    expect(peer.drain()).toEqual([]);
    await runFor(clock, 39);
    expect(peer.drain()).toEqual([]);
    await runFor(clock, 2);
    expect(peer.take()).toMatchObject({ ack: irs + 101 });
    peer.send({ dport: 80, seq: irs + 101, ack: add(iss, 1), flags: TH_ACK, data: new Uint8Array(100) });
    peer.send({ dport: 80, seq: irs + 201, ack: add(iss, 1), flags: TH_ACK, data: new Uint8Array(100) });
    expect(peer.take()).toMatchObject({ ack: irs + 301 });
  });

  it('answers out-of-order data with an immediate duplicate ACK carrying SACK blocks (RFC 2018)', async () => {
    const { clock, peer } = setup();
    const l = peer.stack.tcpSocket();
    l.bind(0, 80);
    l.listen(2);
    const acc = l.accept();
    peer.send({ dport: 80, seq: 100, flags: TH_SYN, options: [...MSS_1460, NOP, NOP, 4, 2] });
    const sa = peer.take();
    expect(sa.sackPermitted).toBe(true);
    peer.send({ dport: 80, seq: 101, ack: add(sa.seq, 1), flags: TH_ACK });
    await settle(clock, acc);
    peer.send({ dport: 80, seq: 201, ack: add(sa.seq, 1), flags: TH_ACK, data: new Uint8Array(50) });
    peer.send({ dport: 80, seq: 301, ack: add(sa.seq, 1), flags: TH_ACK, data: new Uint8Array(50) });
    const d1 = peer.take();
    const d2 = peer.take();
    expect(d1.ack).toBe(101);
    expect(d1.sack).toEqual([201, 251]);
    expect(d2.sack).toEqual([301, 351, 201, 251]); // most recent block first
    peer.send({ dport: 80, seq: 101, ack: add(sa.seq, 1), flags: TH_ACK, data: new Uint8Array(100) });
    expect(peer.take()).toMatchObject({ ack: 251, sack: [301, 351] }); // hole filled: ACK at once
  });

  it('trims data beyond the advertised window and never exceeds the buffer', async () => {
    const { clock, peer } = setup({ tcp: { receiveBufferBytes: 4096, windowScaling: false } });
    const { sock, iss, irs, synAck } = await passiveOpen(clock, peer);
    expect(synAck.win).toBe(4096);
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, data: new Uint8Array(1400).fill(1) });
    peer.send({ dport: 80, seq: irs + 1401, ack: add(iss, 1), flags: TH_ACK, data: new Uint8Array(1400).fill(2) });
    peer.send({ dport: 80, seq: irs + 2801, ack: add(iss, 1), flags: TH_ACK, data: new Uint8Array(1400).fill(3) });
    await runFor(clock, 50); // the third segment's ACK is a delayed one
    const acks = peer.drain();
    const last = acks[acks.length - 1]!;
    expect(last.ack).toBe(irs + 1 + 4096);
    expect(last.win).toBe(0);
    expect(sock.readableBytes).toBe(4096);
    // A zero-window probe is answered with the (still zero) window.
    peer.send({ dport: 80, seq: irs + 4097, ack: add(iss, 1), flags: TH_ACK, data: Uint8Array.of(7) });
    expect(peer.take()).toMatchObject({ ack: irs + 4097, win: 0 });
    // Reading opens the window: a window update goes out.
    sock.tryRead(new Uint8Array(4096));
    expect(peer.take().win).toBe(4096);
  });

  it('Nagle holds small writes while data is unacknowledged; TCP_NODELAY sends them at once', async () => {
    const { clock, peer, sock, iss, irs } = await established();
    sock.tryWrite(Uint8Array.of(1));
    expect(peer.take().data.length).toBe(1);
    sock.tryWrite(Uint8Array.of(2));
    sock.tryWrite(Uint8Array.of(3));
    expect(peer.drain()).toEqual([]);
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 2), flags: TH_ACK });
    expect([...peer.take().data]).toEqual([2, 3]);
    sock.setOption('TCP_NODELAY', 1);
    sock.tryWrite(Uint8Array.of(4));
    sock.tryWrite(Uint8Array.of(5));
    expect(peer.drain().map((s) => s.data.length)).toEqual([1, 1]);
    void clock;
  });

  it('honours the peer MSS and its window scale', async () => {
    const { clock, peer } = setup();
    const l = peer.stack.tcpSocket();
    l.bind(0, 80);
    l.listen(2);
    const acc = l.accept();
    peer.send({ dport: 80, seq: 100, flags: TH_SYN, win: 1000, options: [2, 4, 0x01, 0xf4, NOP, 3, 3, 4] }); // MSS 500, WS 4
    const sa = peer.take();
    expect(sa.wscale).toBeDefined();
    peer.send({ dport: 80, seq: 101, ack: add(sa.seq, 1), flags: TH_ACK, win: 1000 }); // 16000 bytes scaled
    const sock = await settle(clock, acc);
    sock.setOption('TCP_NODELAY', 1);
    sock.tryWrite(new Uint8Array(20_000));
    const segs = peer.drain();
    expect(segs.every((s) => s.data.length <= 500)).toBe(true);
    // cwnd (IW = 4 × 500) bounds the first flight, well within the 16000-byte scaled window.
    expect(segs.reduce((n, s) => n + s.data.length, 0)).toBe(2000);
  });

  it('retransmits on timeout with exponential backoff, then fails with ETIMEDOUT', async () => {
    const { clock, peer, sock } = await (async () => {
      const s = setup({ tcp: { retries: 4 } });
      const o = await passiveOpen(s.clock, s.peer);
      return { ...s, ...o };
    })();
    sock.tryWrite(new Uint8Array(10));
    const times: number[] = [];
    const first = peer.take();
    for (let i = 0; i < 200 && sock.state !== 'CLOSED'; i++) {
      await runFor(clock, 500);
      for (const s of peer.drain()) if (s.data.length === 10 && s.seq === first.seq) times.push(clock.now());
    }
    expect(sock.state).toBe('CLOSED');
    expect(times.length).toBe(4);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]! / gaps[i - 1]!).toBeCloseTo(2, 0);
    await expect(settle(clock, sock.read(new Uint8Array(1)))).rejects.toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('probes a zero window (persist) and resumes when it opens', async () => {
    const { clock, peer, sock, iss, irs } = await established();
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, win: 0 });
    sock.tryWrite(new Uint8Array(3000).fill(9));
    expect(peer.drain()).toEqual([]);
    const probes: SentSegment[] = [];
    for (let i = 0; i < 3; i++) {
      await runFor(clock, 70_000);
      for (const s of peer.drain()) {
        probes.push(s);
        peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, win: 0 }); // still closed
      }
    }
    expect(probes.length).toBeGreaterThanOrEqual(3);
    expect(probes.every((p) => p.data.length === 1 && p.seq === add(iss, 1))).toBe(true);
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK, win: 65535 });
    const sent = peer.drain();
    expect(sent.reduce((n, s) => n + s.data.length, 0)).toBeGreaterThan(1000);
    expect(sent[0]!.seq).toBe(add(iss, 1));
    expect(sock.state).toBe('ESTABLISHED');
  });

  it('keepalive probes an idle connection and gives up after the probe count', async () => {
    const { clock, peer, sock, iss, irs } = await established();
    sock.setOption('SO_KEEPALIVE', 1);
    sock.setOption('TCP_KEEPIDLE', 10);
    sock.setOption('TCP_KEEPINTVL', 2);
    sock.setOption('TCP_KEEPCNT', 3);
    // Re-arm with the new idle time.
    sock.setOption('SO_KEEPALIVE', 1);
    await runFor(clock, 10_500);
    const probe = peer.take();
    expect(probe).toMatchObject({ seq: iss, ack: irs + 1, flags: TH_ACK }); // SEG.SEQ = SND.NXT − 1
    peer.send({ dport: 80, seq: irs + 1, ack: add(iss, 1), flags: TH_ACK }); // the peer answers
    await runFor(clock, 9_000);
    expect(peer.drain()).toEqual([]);
    await runFor(clock, 20_000);
    const out = peer.drain();
    expect(out.filter((s) => s.flags === TH_ACK).length).toBe(3);
    expect(out.filter((s) => (s.flags & TH_RST) !== 0).length).toBe(1); // the drop resets the peer, as 4.4BSD does
    expect(sock.state).toBe('CLOSED');
    expect(sock.getOption('SO_ERROR')).toBe(110);
  });

  it('keeps PAWS: a segment with an older timestamp is dropped with an ACK (RFC 7323 §5)', async () => {
    const clock = new VirtualClock(1000);
    const peer = new RawPeer(clock, { netChannels: false });
    const l = peer.stack.tcpSocket();
    l.bind(0, 80);
    l.listen(2);
    const acc = l.accept();
    const ts = (v: number, e: number) => [NOP, NOP, 8, 10, v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255, e >>> 24, (e >>> 16) & 255, (e >>> 8) & 255, e & 255];
    peer.send({ dport: 80, seq: 100, flags: TH_SYN, options: [...MSS_1460, ...ts(5000, 0)] });
    const sa = peer.take();
    expect(sa.tsEcr).toBe(5000);
    peer.send({ dport: 80, seq: 101, ack: add(sa.seq, 1), flags: TH_ACK, options: ts(5001, sa.tsVal!) });
    const sock = await settle(clock, acc);
    peer.send({ dport: 80, seq: 101, ack: add(sa.seq, 1), flags: TH_ACK, data: Uint8Array.of(1), options: ts(6000, sa.tsVal!) });
    peer.send({ dport: 80, seq: 102, ack: add(sa.seq, 1), flags: TH_ACK, data: Uint8Array.of(2), options: ts(4000, sa.tsVal!) });
    expect(sock.readableBytes).toBe(1);
    expect(peer.stack.stats.tcpPawsDrops).toBe(1);
    const acks = peer.drain();
    expect(acks[acks.length - 1]!.tsEcr).toBe(6000);
  });
});

describe('sockets and the stack', () => {
  it('reports the addresses of both ends', async () => {
    const { clock, peer } = setup();
    const { sock } = await passiveOpen(clock, peer);
    expect(sock.localAddress).toBe(STACK_IP);
    expect(sock.remoteAddress).toBe(PEER_IP);
    expect(sock.localPort).toBe(80);
  });

  it('bind honours SO_REUSEADDR the way Linux does', async () => {
    const { clock, peer, stack } = setup();
    const { l } = await passiveOpen(clock, peer);
    const again = stack.tcpSocket();
    expect(() => again.bind(0, 80)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    again.setOption('SO_REUSEADDR', 1);
    expect(() => again.bind(0, 80)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' })); // a listener holds it
    await l.close();
    // The established child still holds port 80 but carries no SO_REUSEADDR: still in use.
    const third = stack.tcpSocket();
    third.setOption('SO_REUSEADDR', 1);
    expect(() => third.bind(0, 80)).toThrow(expect.objectContaining({ code: 'EADDRINUSE' }));
    const fresh = stack.tcpSocket();
    fresh.bind(0, 8080);
    await fresh.close();
    const reuse = stack.tcpSocket();
    reuse.bind(0, 8080);
    await reuse.close();
  });
});
