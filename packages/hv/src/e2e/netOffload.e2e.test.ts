/**
 * virtio-net offloads and zero-copy receive in booted images
 * (test-apps/netblast streaming to a host server through the user backend):
 *  - with the device's offloads on (the default) the driver negotiates
 *    VIRTIO_NET_F_CSUM, the stack leaves TCP checksums to the device, and
 *    every frame the backend got (the `--net-dump` capture, written after the
 *    device filled the checksums) carries valid IPv4 and TCP checksums —
 *    checked by our pcap reader and, when installed, by tshark's own
 *    checksum validation;
 *  - with `offloads=off` nothing is negotiated and the stack checksums itself;
 *  - either way the stack receives in the mbufs the device wrote (no copied
 *    frame), and after the stream no mbuf is in use beyond those posted in
 *    the receive ring.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPcap } from '../testing/pcapReader.js';
import { lastJson, osvRun, testAppImage } from '../testing/testImages.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'osv-offload-e2e-'));
const img = testAppImage('netblast');
const BYTES = 2 << 20;

/** The one's complement sum of `b[off, end)` as big-endian 16-bit words, folded. */
function onesSum(b: Uint8Array, off: number, end: number, acc = 0): number {
  let s = acc;
  for (let i = off; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** For an Ethernet/IPv4/TCP frame: whether its IP and TCP checksums verify; null for any other frame. */
function tcpChecksumsValid(f: Uint8Array): boolean | null {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00 || f[23] !== 6) return null;
  const hl = (f[14]! & 15) * 4;
  const total = (f[16]! << 8) | f[17]!;
  const l4len = total - hl;
  const ipOk = onesSum(f, 14, 14 + hl) === 0xffff;
  const pseudo = onesSum(f, 26, 34) + 6 + l4len;
  return ipOk && onesSum(f, 14 + hl, 14 + total, pseudo) === 0xffff;
}

/** A host server that reads one stream to its end and answers with the byte count. */
async function sink(): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer((c) => {
    let n = 0;
    c.on('data', (d: Buffer) => (n += d.length));
    c.on('end', () => c.end(`got ${n}`));
    c.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

async function stream(offloads: 'on' | 'off'): Promise<{ result: Record<string, unknown>; pcap: string }> {
  const s = await sink();
  const pcap = join(dir, `offloads-${offloads}.pcap`);
  try {
    const r = await osvRun([img, '--net', `user,offloads=${offloads}`, '--net-dump', pcap, '--cmdline', `/netblast.js --source 10.0.2.2:${s.port} --bytes ${BYTES}`], 120_000);
    expect(r.code, r.out + r.err).toBe(0);
    return { result: lastJson(r.out) as Record<string, unknown>, pcap };
  } finally {
    s.close();
  }
}

describe('virtio-net offloads and zero-copy receive (test-apps/netblast)', () => {
  for (const offloads of ['on', 'off'] as const) {
    it(`offloads=${offloads}: the stream arrives, frames on the wire carry valid checksums, receive is zero-copy and leaks no mbuf`, async () => {
      const { result, pcap } = await stream(offloads);
      expect(result).toMatchObject({ sent: BYTES, reply: `got ${BYTES}`, csumOffload: offloads === 'on' ? 1 : 0, interfaceZeroCopy: 1, copied: 0 });
      expect(result['zeroCopy']).toBeGreaterThan(100); // the ACKs of 2 MiB came into mbufs
      expect(result['mbufsInUse']).toBe(result['postedMbufs']);
      const frames = readPcap(new Uint8Array(readFileSync(pcap))).records.map((r) => r.data);
      const fromGuest = frames.filter((f) => f[6] === 0x52 && f[7] === 0x54 && f[8] === 0x00 && f[9] === 0x12 && f[10] === 0x34 && f[11] === 0x56);
      const verdicts = fromGuest.map(tcpChecksumsValid).filter((v) => v !== null);
      expect(verdicts.length).toBeGreaterThan(BYTES / 1500);
      expect(verdicts.every((v) => v)).toBe(true);
      if (hasTshark) {
        // tshark's own validation: any TCP segment with a bad checksum is listed.
        const t = spawnSync('tshark', ['-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', 'tcp.checksum.status == 0 || ip.checksum.status == 0'], { encoding: 'utf8' });
        expect(t.status, t.stderr).toBe(0);
        expect(t.stdout.trim()).toBe('');
      }
    }, 180_000);
  }
});
