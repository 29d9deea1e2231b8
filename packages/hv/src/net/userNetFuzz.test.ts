/**
 * A hostile guest: random frames, and real guest frames (recorded from a
 * netchannel stack doing DHCP, ARP, ping, TCP, UDP, fragmented UDP and DNS)
 * with bytes flipped, fields overwritten and tails cut, thrown at the user
 * backend. It must never throw, must keep every resource within its limits,
 * must still serve a well-behaved guest afterwards, and must release
 * everything on close. OSV_SOAK=1 runs 50x more cases.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DhcpClient, DnsResolver } from '@osv-ts/netchannel';
import type { NetBackend, NetBackendEvents } from '../devices/netBackend.js';
import { guestStack } from './guestHarness.js';
import { UserNetBackend, type UserNetBackendOptions } from './userNetBackend.js';

const RUNS = process.env['OSV_SOAK'] ? 100_000 : 2000;
const LIMITS = { tcpFlows: 32, udpFlows: 16, dnsPending: 4 };

/** Passes everything to `inner` and keeps a copy of each frame sent. */
class Recorder implements NetBackend {
  readonly frames: Uint8Array[] = [];
  constructor(private readonly inner: NetBackend) {}
  get description(): string {
    return this.inner.description;
  }
  get linkUp(): boolean {
    return this.inner.linkUp;
  }
  get congested(): boolean {
    return this.inner.congested;
  }
  attach(events: NetBackendEvents): void {
    this.inner.attach(events);
  }
  send(frame: Uint8Array, offset: number, length: number): boolean {
    this.frames.push(frame.slice(offset, offset + length));
    return this.inner.send(frame, offset, length);
  }
  flush(): void {}
  pause(): void {}
  resume(): void {}
  close(): Promise<void> {
    return this.inner.close();
  }
}

let echo: Server;
let echoPort = 0;
const echoSockets = new Set<Socket>();

function options(): UserNetBackendOptions {
  return {
    limits: LIMITS,
    policy: (addr, port) => addr === '127.0.0.1' && port === echoPort,
    resolver: { lookup: (name) => (name.length % 2 === 0 ? Promise.resolve(['10.9.9.9']) : Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))) },
  };
}

beforeAll(async () => {
  echo = createServer((s) => {
    echoSockets.add(s);
    s.on('error', () => {});
    s.on('close', () => echoSockets.delete(s));
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  echoPort = (echo.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const s of echoSockets) s.destroy();
  await new Promise<void>((r) => echo.close(() => r()));
});

/** The address of the guest that checks the backend still serves (the corpus guest used DHCP's 10.0.2.15). */
const WELL_BEHAVED = '10.0.2.99';

/**
 * Keeps hostile ARP from claiming the well-behaved guest's address: that
 * would rightly redirect the gateway's traffic for it, which is an attack on
 * that guest, not on the backend.
 */
function unclaimed(f: Uint8Array): Uint8Array {
  if (f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[28] === 10 && f[29] === 0 && f[30] === 2 && f[31] === 99) f[31] = 98;
  return f;
}

/** Frames a real guest sends while using every service of the user network. */
async function recordCorpus(): Promise<Uint8Array[]> {
  const backend = await UserNetBackend.open(options());
  const rec = new Recorder(backend);
  const g = guestStack(rec);
  const dhcp = new DhcpClient(g.stack, g.iface);
  await dhcp.start(10_000);
  await g.stack.ping('10.0.2.2', { timeoutMs: 5000 });
  await g.stack.ping('10.0.2.3', { timeoutMs: 5000 });
  const s = g.stack.tcpSocket();
  await s.connect('10.0.2.2', echoPort);
  await s.write(new Uint8Array(3000).fill(7));
  await s.read(new Uint8Array(4096));
  await s.close();
  await g.stack.tcpSocket().connect('10.0.2.2', 1).catch(() => {});
  const u = g.stack.udpSocket();
  u.sendTo(new Uint8Array(64), '10.0.2.2', echoPort);
  u.sendTo(new Uint8Array(3000), '10.0.2.2', echoPort); // fragments
  u.close();
  await new DnsResolver(g.stack, { servers: ['10.0.2.3'], timeoutMs: 2000 }).resolve4('even.name').catch(() => {});
  dhcp.stop();
  await backend.close();
  return rec.frames;
}

describe('user backend under a hostile guest', () => {
  it('survives random and mutated frames within its resource limits, then still serves, then releases everything', async () => {
    const corpus = await recordCorpus();
    expect(corpus.length).toBeGreaterThan(10);
    const backend = await UserNetBackend.open(options());
    let maxSeen = [0, 0];
    const guest = guestStack(backend, { address: WELL_BEHAVED, gateway: '10.0.2.2', macLast: 0x99 });
    const frame = fc.oneof(
      fc.uint8Array({ maxLength: 1600 }),
      fc.record({
        seed: fc.nat(corpus.length - 1),
        edits: fc.array(fc.tuple(fc.nat(1600), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        cut: fc.option(fc.nat(1600)),
      }).map(({ seed, edits, cut }) => {
        const f = corpus[seed]!.slice();
        for (const [at, v] of edits) if (f.length > 0) f[at % f.length] = v;
        return cut === null ? f : f.subarray(0, cut % (f.length + 1));
      }),
    ).map(unclaimed);
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 4 }), (frames) => {
        for (const f of frames) backend.send(f, 0, f.length);
        const r = backend.resources();
        expect(r.tcpFlowsHeld).toBeLessThanOrEqual(LIMITS.tcpFlows);
        expect(r.udpFlows).toBeLessThanOrEqual(LIMITS.udpFlows);
        expect(r.dnsPending).toBeLessThanOrEqual(LIMITS.dnsPending);
        expect(r.hostSockets).toBeLessThanOrEqual(LIMITS.tcpFlows + LIMITS.udpFlows);
        expect(r.stack.mbufsInUse).toBeLessThan(backend.stack.pool.capacity / 2);
        maxSeen = [Math.max(maxSeen[0]!, r.tcpFlowsHeld), Math.max(maxSeen[1]!, r.udpFlows)];
      }),
      { numRuns: RUNS },
    );
    // The mutated frames did reach the translator's flows, not only the stack's validation.
    expect(maxSeen[0]).toBeGreaterThan(0);
    expect(maxSeen[1]).toBeGreaterThan(0);

    await expect(guest.stack.ping('10.0.2.2', { timeoutMs: 5000 })).resolves.toBeGreaterThanOrEqual(0);
    const s = guest.stack.tcpSocket();
    await s.connect('10.0.2.2', echoPort);
    await s.write(Buffer.from('still here'));
    const buf = new Uint8Array(64);
    let got = '';
    while (got.length < 10) got += Buffer.from(buf.subarray(0, await s.read(buf))).toString();
    expect(got).toBe('still here');
    s.abort();

    await backend.close();
    const r = backend.resources();
    expect([r.tcpFlows, r.udpFlows, r.hostSockets, r.forwarded]).toEqual([0, 0, 0, 0]);
  });
});
