/**
 * The block backends against the simplest model there is, a byte array:
 * random sequences of reads, writes and zeroing on the raw file backend
 * (synchronous and thread-pool paths) and on the copy-on-write overlay (in
 * memory and in a file) must read back what the model holds, and the overlay
 * must leave its base image byte for byte untouched. The file overlay must
 * survive close and reopen, and refuse an overlay of another disk.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HvError } from '../errors.js';
import type { BlockBackend, BlockIoTarget } from './blockBackend.js';
import { openDisk } from './diskOptions.js';
import { FileBlockBackend } from './fileBlockBackend.js';

const dir = mkdtempSync(join(tmpdir(), 'osv-blk-'));
const DISK = 256 * 1024;
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Runs one backend operation to completion; resolves with the bytes moved or rejects with the error. */
function run(op: (io: BlockIoTarget) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let parts = 0;
    let moved = 0;
    let error: Error | null = null;
    let issuing = true;
    const finish = (): void => (error ? reject(error) : resolve(moved));
    const io: BlockIoTarget = {
      addPart: () => void parts++,
      partDone: (err, bytes) => {
        if (err) error = err;
        moved += bytes > 0 ? bytes : 0;
        if (--parts === 0 && !issuing) finish();
      },
    };
    op(io);
    issuing = false;
    if (parts === 0) finish();
  });
}

function baseImage(name: string): string {
  const p = join(dir, name);
  const b = Buffer.alloc(DISK);
  for (let i = 0; i < DISK; i++) b[i] = (i * 7 + (i >> 9)) & 0xff;
  writeFileSync(p, b);
  return p;
}

type Op = { kind: 'read' | 'write' | 'zero'; sector: number; sectors: number; seed: number };

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('read' as const, 'write' as const, 'zero' as const),
  sector: fc.integer({ min: 0, max: DISK / 512 - 1 }),
  sectors: fc.integer({ min: 1, max: 300 }),
  seed: fc.integer({ min: 0, max: 255 }),
});

/** Applies `ops` to `backend` and to a model, checking every read; memory is a fake guest memory. */
async function differential(backend: BlockBackend, model: Uint8Array, ops: readonly Op[]): Promise<void> {
  const mem = new Uint8Array(new SharedArrayBuffer(2 * 1024 * 1024));
  for (const o of ops) {
    const sectors = Math.min(o.sectors, DISK / 512 - o.sector);
    const pos = o.sector * 512;
    const len = sectors * 512;
    const at = 4096 + o.seed * 512;
    if (o.kind === 'write') {
      for (let i = 0; i < len; i++) mem[at + i] = (o.seed + i * 13) & 0xff;
      expect(await run((io) => backend.write(mem, at, len, pos, io))).toBe(len);
      model.set(mem.subarray(at, at + len), pos);
    } else if (o.kind === 'zero') {
      await run((io) => backend.writeZeroes(pos, len, io));
      model.fill(0, pos, pos + len);
    } else {
      mem.fill(0x5a, at, at + len);
      expect(await run((io) => backend.read(mem, at, len, pos, io))).toBe(len);
      expect(Buffer.compare(Buffer.from(mem.subarray(at, at + len)), Buffer.from(model.subarray(pos, pos + len)))).toBe(0);
    }
  }
  const all = new Uint8Array(new SharedArrayBuffer(DISK));
  await run((io) => backend.read(all, 0, DISK, 0, io));
  expect(Buffer.compare(Buffer.from(all), Buffer.from(model))).toBe(0);
}

describe('block backends against a byte-array model', () => {
  it('raw file, synchronous and thread-pool paths: what is written is read back, and lands in the file', async () => {
    for (const syncBelow of [0, 64 * 1024, Infinity]) {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 25 }), async (ops) => {
          const path = baseImage(`raw-${syncBelow}.img`);
          const model = new Uint8Array(readFileSync(path));
          const b = FileBlockBackend.open(path, { writable: true, syncBelow });
          await differential(b, model, ops);
          await run((io) => b.flush(io));
          await b.close();
          expect(Buffer.compare(readFileSync(path), Buffer.from(model))).toBe(0);
        }),
        { numRuns: 15 },
      );
    }
  });

  it('memory overlay (ro): reads see the writes, the image file stays untouched', async () => {
    const path = baseImage('ro.img');
    const before = sha(path);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 30 }), async (ops) => {
        const b = openDisk({ path, ro: true });
        await differential(b, new Uint8Array(readFileSync(path)), ops);
        await run((io) => b.flush(io));
        await b.close();
      }),
      { numRuns: 30 },
    );
    expect(sha(path)).toBe(before);
  });

  it('file overlay: survives close and reopen, and the image file stays untouched', async () => {
    const path = baseImage('ovl.img');
    const before = sha(path);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 20 }), fc.array(opArb, { maxLength: 20 }), fc.integer({ min: 0, max: 1e9 }), async (a, b, n) => {
        const overlay = join(dir, `ovl-${n}.cow`);
        rmSync(overlay, { force: true });
        const model = new Uint8Array(readFileSync(path));
        const first = openDisk({ path, overlay });
        await differential(first, model, a);
        await first.close();
        const second = openDisk({ path, overlay });
        await differential(second, model, b);
        await run((io) => second.flush(io));
        await second.close();
      }),
      { numRuns: 15 },
    );
    expect(sha(path)).toBe(before);
  });

  it('refuses an overlay made for another disk, or a file that is no overlay', () => {
    const small = join(dir, 'small.img');
    writeFileSync(small, Buffer.alloc(4096));
    const overlay = join(dir, 'other.cow');
    void openDisk({ path: baseImage('big.img'), overlay }).close();
    expect(() => openDisk({ path: small, overlay })).toThrow(/overlay of a 262144-byte disk, but the image has 4096 bytes/);
    const junk = join(dir, 'junk.cow');
    writeFileSync(junk, 'not an overlay at all, just some text that is long enough'.repeat(100));
    expect(() => openDisk({ path: small, overlay: junk })).toThrow(/not an osv-ts overlay file/);
  });

  it('explains disks it cannot open', () => {
    expect(() => openDisk({ path: join(dir, 'absent.img') })).toThrow(HvError);
    expect(() => openDisk({ path: join(dir, 'absent.img') })).toThrow(/cannot open it for writing \(ENOENT\)/);
    writeFileSync(join(dir, 'tiny.img'), Buffer.alloc(100));
    expect(() => openDisk({ path: join(dir, 'tiny.img') })).toThrow(/smaller than one 512-byte sector/);
    expect(() => openDisk({ path: dir })).toThrow(/cannot open|not a regular file/);
    expect(() => openDisk({ path: baseImage('x.img'), ro: true, readonly: true })).toThrow(/exclude each other/);
    expect(() => openDisk({ path: baseImage('y.img'), serial: 'x'.repeat(21) })).toThrow(/at most 20/);
  });
});
