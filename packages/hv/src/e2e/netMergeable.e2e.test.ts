/**
 * Mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF) in booted images: the
 * hv's device and the kernel's driver, both real, with the driver posting
 * small receive buffers (`--net-rx-buffer=BYTES` on the kernel command line)
 * so that frames must span several:
 *  - a host client's 2 MiB through hostfwd to the image's echo server comes
 *    back byte for byte, every full-size frame in 3 buffers of 512 bytes (a
 *    1526-byte header and frame cannot fit one, so nothing gets through
 *    unless the device spreads it and the driver gathers it);
 *  - a guest→host stream whose ACKs arrive in 2 buffers of 40 bytes each:
 *    the driver counts them merged, drops none, and leaks no mbuf.
 * The default (whole-frame buffers, MRG_RXBUF still negotiated) is what every
 * other network e2e test runs.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { echoClient, freePort, lastJson, osvRun, testAppImage } from '../testing/testImages.js';

const echoImg = testAppImage('netecho');
const blastImg = testAppImage('netblast');

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

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('virtio-net mergeable receive buffers in a booted image', () => {
  it('echoes 2 MiB whose frames each span 3 receive buffers of 512 bytes', async () => {
    const port = await freePort();
    const run = osvRun([echoImg, '--net', `user,hostfwd=tcp::${port}-:7`, '--cmdline', '--verbose --net-rx-buffer=512 /netecho.js --serve 7'], 120_000);
    const data = Buffer.alloc(2 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 9)) & 0xff;
    const reply = await echoClient(port, data);
    expect(reply.length).toBe(data.length);
    expect(sha(reply)).toBe(sha(data));
    const r = await run;
    expect(r.out + r.err).toMatch(/virtio-net eth0: .*mergeable receive buffers/);
    expect(lastJson(r.out)).toEqual({ served: 1, bytes: data.length });
    expect(r.code).toBe(0);
  }, 180_000);

  it('gathers ACKs spanning 2 receive buffers of 40 bytes, drops none and leaks no mbuf', async () => {
    const s = await sink();
    const BYTES = 1 << 20;
    try {
      const r = await osvRun([blastImg, '--net', 'user', '--cmdline', `--net-rx-buffer=40 /netblast.js --source 10.0.2.2:${s.port} --bytes ${BYTES}`], 120_000);
      expect(r.code, r.out + r.err).toBe(0);
      const result = lastJson(r.out);
      expect(result).toMatchObject({ sent: BYTES, reply: `got ${BYTES}`, rxDropped: 0, copied: 0 });
      expect(result['merged']).toBeGreaterThan(100); // every frame is longer than 40 - 12 bytes
      expect(result['zeroCopy']).toBe(0);
      expect(result['mbufsInUse']).toBe(result['postedMbufs']);
    } finally {
      s.close();
    }
  }, 180_000);
});
