/**
 * A booted image's TCP through an impaired link (`--net ...,loss=,dup=,
 * reorder=,delay=`): the guest's echo server and the user backend's stack
 * recover from lost, duplicated and reordered frames on the VM's own link,
 * and the echo comes back byte for byte. The shim's counters
 * (Machine.netImpairmentStats) show it really lost, duplicated and reordered
 * frames.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.js';
import { parseNetSpec } from '../devices/netOptions.js';
import { freePort, lastJson, testAppImage } from '../testing/testImages.js';


describe('TCP in an image over an impaired link', () => {
  it('echoes 128 KiB intact through 3% loss, 3% duplication, 3% reordering and 2 ms delay each way', async () => {
    const port = await freePort();
    const spec = `user,hostfwd=tcp::${port}-:7,loss=3%,dup=3%,reorder=3%,delay=2,seed=11`;
    expect(parseNetSpec(spec).impair).toEqual({ loss: 0.03, duplicate: 0.03, reorder: 0.03, delayMs: 2, seed: 11 });
    const m = await Machine.boot({ image: testAppImage('netecho'), nets: [spec], cmdline: '/netecho.js --serve 7' });
    let out = '';
    m.console.on('data', (c: Buffer) => (out += c.toString()));
    for (let i = 0; i < 500 && !out.includes('"listening"'); i++) await new Promise((r) => setTimeout(r, 20));
    const data = Buffer.alloc(128 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13 + (i >> 9)) & 0xff;
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = net.connect(port, '127.0.0.1', () => s.end(data));
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
    });
    const [stats] = m.netImpairmentStats();
    const { code } = await m.wait();
    expect(stats!.lost).toBeGreaterThan(0);
    expect(stats!.duplicated).toBeGreaterThan(0);
    expect(stats!.reordered).toBeGreaterThan(0);
    expect(reply.length).toBe(data.length);
    expect(reply.equals(data)).toBe(true);
    expect(lastJson(out)).toEqual({ served: 1, bytes: data.length });
    expect(code).toBe(0);
  }, 120_000);
});
