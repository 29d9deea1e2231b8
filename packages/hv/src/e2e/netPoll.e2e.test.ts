/**
 * Event-driven sockets in a booted image (test-apps/netpoll): one thread
 * serves TCP connections and UDP datagrams over the guest's loopback through
 * the kernel's epoll-style poller and non-blocking calls, while client threads
 * block; every byte and datagram must come back. On 1 and 2 vCPUs (the
 * network lives on vCPU 0; threads spawned there stay there).
 */
import { describe, expect, it } from 'vitest';
import { lastJson, osvRun, testAppImage } from '../testing/testImages.js';

describe('poller and non-blocking sockets in a booted image (test-apps/netpoll)', () => {
  for (const cpus of [1, 2]) {
    it(`8 clients x 100 KB and 20 datagrams each through one event loop (${cpus} vCPU)`, async () => {
      const r = await osvRun([testAppImage('netpoll'), '--net', 'none', '--cpus', String(cpus), '--cmdline', '/netpoll.js --clients 8 --bytes 100000 --datagrams 20'], 120_000);
      expect(r.code, `${r.out}\n${r.err}`).toBe(0);
      expect(lastJson(r.out)).toMatchObject({ clients: 8, echoed: 800_000, datagrams: 160, ok: true });
    });
  }

  it('100 connections at once in 256 MiB: socket rings start small, so the packet memory holds them all', async () => {
    const r = await osvRun([testAppImage('netpoll'), '--net', 'none', '--memory', '256M', '--cmdline', '/netpoll.js --clients 100 --bytes 20000 --datagrams 5 --watchdog 60'], 120_000);
    expect(r.code, `${r.out}\n${r.err}`).toBe(0);
    expect(lastJson(r.out)).toMatchObject({ clients: 100, echoed: 2_000_000, datagrams: 500, ok: true });
  });
});
