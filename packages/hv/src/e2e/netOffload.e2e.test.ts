/**
 * virtio-net offloads and zero-copy receive in booted images
 * (test-apps/netblast streaming to a host server through the user backend,
 * and through a real passt over `--net stream:`):
 *  - with the device's offloads on (the default) the driver negotiates
 *    VIRTIO_NET_F_CSUM and VIRTIO_NET_F_HOST_TSO4, the stack leaves TCP
 *    checksums to the device and sends super-segments of up to 64 KiB, and
 *    every frame the backend got (the `--net-dump` capture, written after the
 *    device segmented and checksummed) is an ordinary frame of at most the
 *    MTU with valid IPv4 and TCP checksums — checked by our pcap reader and,
 *    when installed, by tshark's own checksum validation;
 *  - with `offloads=csum` only the checksum is offloaded (no super-segment);
 *  - with `offloads=off` nothing is negotiated and the stack checksums itself;
 *  - either way the stack receives in the mbufs the device wrote (no copied
 *    frame), and after the stream no mbuf is in use beyond those posted in
 *    the receive ring.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPcap } from '../testing/pcapReader.js';
import { lastJson, OSV_RUN, osvRun, testAppImage } from '../testing/testImages.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
const hasPasst = spawnSync('passt', ['--version'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'osv-offload-e2e-'));
chmodSync(dir, 0o777); // passt drops to nobody before it binds its socket
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

/** A host server that reads one stream to its end and answers with the byte count; `received` resolves with it. */
async function sink(): Promise<{ port: number; received: Promise<number>; close: () => void }> {
  let done!: (n: number) => void;
  const received = new Promise<number>((r) => (done = r));
  const srv = net.createServer((c) => {
    let n = 0;
    c.on('data', (d: Buffer) => (n += d.length));
    c.on('end', () => {
      done(n);
      c.end(`got ${n}`);
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, received, close: () => srv.close() };
}

type Offloads = 'on' | 'csum' | 'off';

async function stream(offloads: Offloads, backend = 'user'): Promise<{ result: Record<string, unknown>; pcap: string }> {
  const s = await sink();
  const pcap = join(dir, `offloads-${offloads}-${backend.startsWith('stream:') ? 'passt' : backend}.pcap`);
  try {
    const r = await osvRun([img, '--net', `${backend},offloads=${offloads}`, '--net-dump', pcap, '--cmdline', `/netblast.js --source 10.0.2.2:${s.port} --bytes ${BYTES}`], 120_000);
    expect(r.code, r.out + r.err).toBe(0);
    return { result: lastJson(r.out) as Record<string, unknown>, pcap };
  } finally {
    s.close();
  }
}

/**
 * What the capture must show: every frame from the guest at most MTU-sized
 * (the device segmented every super-segment), every TCP frame's checksums
 * valid (ours, and tshark's when installed), enough of them to carry the stream.
 */
function checkCapture(pcap: string): void {
  const frames = readPcap(new Uint8Array(readFileSync(pcap))).records.map((r) => r.data);
  const fromGuest = frames.filter((f) => f[6] === 0x52 && f[7] === 0x54 && f[8] === 0x00 && f[9] === 0x12 && f[10] === 0x34 && f[11] === 0x56);
  expect(Math.max(...fromGuest.map((f) => f.length))).toBeLessThanOrEqual(1514);
  const verdicts = fromGuest.map(tcpChecksumsValid).filter((v) => v !== null);
  expect(verdicts.length).toBeGreaterThan(BYTES / 1500);
  expect(verdicts.every((v) => v)).toBe(true);
  if (hasTshark) {
    // tshark's own validation: any TCP segment with a bad checksum is listed.
    const t = spawnSync('tshark', ['-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', 'tcp.checksum.status == 0 || ip.checksum.status == 0'], { encoding: 'utf8' });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout.trim()).toBe('');
  }
}

/** What the guest must report for `offloads`: which offloads were negotiated and whether super-segments went out. */
function checkOffloads(result: Record<string, unknown>, offloads: Offloads): void {
  expect(result).toMatchObject({ csumOffload: offloads === 'off' ? 0 : 1, tsoOffload: offloads === 'on' ? 1 : 0 });
  if (offloads === 'on') {
    // How much goes out as super-segments depends on how the peer's ACKs and the
    // writes interleave (a loaded machine sends more single segments), so only
    // a clear use of TSO is asserted, not a share that load could break.
    expect(result['tsoFrames']).toBeGreaterThan(10);
    expect(result['tsoBytes']).toBeGreaterThan(BYTES / 8);
  } else {
    expect(result['tsoFrames']).toBe(0);
  }
}

describe('virtio-net offloads and zero-copy receive (test-apps/netblast)', () => {
  for (const offloads of ['on', 'csum', 'off'] as const) {
    it(`offloads=${offloads}: the stream arrives, frames on the wire are MTU-sized with valid checksums, receive is zero-copy and leaks no mbuf`, async () => {
      const { result, pcap } = await stream(offloads);
      checkOffloads(result, offloads);
      checkCapture(pcap);
      expect(result).toMatchObject({ sent: BYTES, reply: `got ${BYTES}`, interfaceZeroCopy: 1, copied: 0 });
      expect(result['zeroCopy']).toBeGreaterThan(100); // the ACKs of 2 MiB came into mbufs
      expect(result['mbufsInUse']).toBe(result['postedMbufs']);
    }, 180_000);
  }

  // passt is an independent TCP/IP peer: it must accept the device's segments as any Linux guest's.
  // Skipped only where passt is not installed at all; .ci/run installs it.
  it.skipIf(!hasPasst)('offloads=on through passt: super-segments leave the device as ordinary segments passt carries to the host', async () => {
    const sock = join(dir, 'passt.sock');
    const p = spawn('passt', ['-f', '-e', '-1', '-s', sock, '-a', '10.0.2.15', '-n', '24', '-g', '10.0.2.2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    try {
      for (let i = 0; i < 500 && !existsSync(sock) && p.exitCode === null; i++) await new Promise((r) => setTimeout(r, 10));
      expect(existsSync(sock), output).toBe(true);
      // passt here forwards the host's reply but not its FIN after the guest
      // half-closed (with offloads off too), so netblast would wait for ever
      // for the end of the reply: the test ends when the host got the whole
      // stream, stopping the VM (SIGTERM closes the capture cleanly).
      const s = await sink();
      const pcap = join(dir, 'offloads-on-passt.pcap');
      const vm = spawn(process.execPath, [OSV_RUN, img, '--net', `stream:${sock},offloads=on`, '--net-dump', pcap, '--cmdline', `/netblast.js --source 10.0.2.2:${s.port} --bytes ${BYTES}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let vmErr = '';
      vm.stderr!.on('data', (c: Buffer) => (vmErr += c.toString()));
      const exited = new Promise<void>((resolve) => vm.on('close', () => resolve()));
      try {
        expect(await Promise.race([s.received, exited.then(() => `osv-run exited early: ${vmErr}`)])).toBe(BYTES);
      } finally {
        vm.kill('SIGTERM');
        await exited;
        s.close();
      }
      checkCapture(pcap);
    } finally {
      p.kill();
    }
  }, 180_000);
});
