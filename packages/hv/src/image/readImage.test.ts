import { describe, expect, it } from 'vitest';
import { readImage } from './readImage.js';
import { ImageError, type ImageErrorCode } from './imageError.js';
import { IMAGE_HEADER_LAYOUT as H, IMAGE_HEADER_SIZE, SECTION_ALIGN, SECTION_ENTRY_LAYOUT as E, SECTION_ENTRY_SIZE, headerLengthFor } from './imageLayout.js';
import { SAMPLE_BUILDER, SAMPLE_MANIFEST, entryAt, reseal, sampleImage, sectionCount, setEntry } from './imageTestSupport.js';
import { writeImage } from './writeImage.js';

function refusal(bytes: Uint8Array, name = 'hello.img'): ImageError {
  try {
    readImage(bytes, name);
  } catch (e) {
    if (e instanceof ImageError) return e;
    throw e;
  }
  throw new Error('readImage accepted the image');
}

const NAMES = ['kernel', 'rootfs', 'cmdline', 'manifest'];

describe('readImage of a sound image', () => {
  it('returns every section, decoded and zero-copy', () => {
    const bytes = sampleImage({ extra: { notes: new Uint8Array([1, 2, 3]) } });
    const image = readImage(bytes, 'hello.img');
    expect(image.kernelSource).toBe('globalThis.__osvKernelStart = () => {};\n');
    expect(image.cmdline).toBe('/hello.js');
    expect(image.manifest).toEqual({ ...SAMPLE_MANIFEST, builder: SAMPLE_BUILDER });
    expect(image.builder).toEqual(SAMPLE_BUILDER);
    expect(image.rootfs.buffer).toBe(bytes.buffer);
    expect(Array.from(image.rootfs.subarray(0, 3))).toEqual([1, 8, 15]);
    expect(image.sectionTable.map((s) => s.name)).toEqual([...NAMES, 'notes']);
    expect(Array.from(image.extra.get('notes') ?? [])).toEqual([1, 2, 3]);
    expect(image.sections['rootfs']).toBe(image.rootfs);
    for (const s of image.sectionTable) expect(s.offset % SECTION_ALIGN).toBe(0);
    expect(image.sectionTable.at(-1)?.bytes.byteOffset).toBe(bytes.length - 3);
  });

  it('reads an image that sits inside a larger buffer', () => {
    const bytes = sampleImage();
    const outer = new Uint8Array(bytes.length + 7);
    outer.set(bytes, 3);
    const image = readImage(outer.subarray(3, 3 + bytes.length), 'inner.img');
    expect(image.cmdline).toBe('/hello.js');
    expect(image.rootfs.byteOffset).toBe(3 + (readImage(bytes, 'x').sectionTable[1]?.offset ?? NaN));
  });

  it('writes the same bytes for the same input', () => {
    expect(sampleImage()).toEqual(sampleImage());
  });

  it('keeps a section named __proto__ as data', () => {
    const image = readImage(sampleImage({ extra: { ['__proto__']: new Uint8Array([9]) } }), 'x.img');
    expect(Object.hasOwn(image.sections, '__proto__')).toBe(true);
    expect(Array.from(image.extra.get('__proto__') ?? [])).toEqual([9]);
  });

  it('has the documented header and table sizes', () => {
    expect(IMAGE_HEADER_SIZE).toBe(128);
    expect(SECTION_ENTRY_SIZE).toBe(64);
    expect(H.headerSha256.offset % 8).toBe(0);
    const bytes = sampleImage();
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('OSVTSIMG');
    expect(new DataView(bytes.buffer).getUint32(H.headerLength.offset, true)).toBe(headerLengthFor(4));
  });
});

/** What readImage must say when byte `p` of `bytes` is changed. */
function expectedBlame(bytes: Uint8Array, p: number): { codes: ImageErrorCode[]; section: string | undefined } {
  const count = sectionCount(bytes);
  const headerLength = headerLengthFor(count);
  if (p < H.version.offset) return { codes: ['NOT_AN_IMAGE'], section: undefined };
  if (p < H.headerLength.offset) return { codes: ['UNSUPPORTED_VERSION'], section: undefined };
  if (p < H.reserved0.offset) return { codes: ['BAD_HEADER'], section: undefined };
  if (p < headerLength) return { codes: ['HEADER_CHECKSUM'], section: undefined };
  if (p < entryAt(bytes, 0).offset) return { codes: ['BAD_HEADER'], section: undefined };
  for (let i = count - 1; i >= 0; i--) {
    if (p >= entryAt(bytes, i).offset) return { codes: ['SECTION_CHECKSUM'], section: NAMES[i] };
  }
  throw new Error('unreachable');
}

describe('readImage refuses a damaged image', () => {
  it('refuses every single-byte change and names the damaged part', () => {
    const bytes = sampleImage();
    const counts = new Map<string, number>();
    for (let p = 0; p < bytes.length; p++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        bytes[p] = (bytes[p] as number) ^ mask;
        const e = refusal(bytes);
        bytes[p] = (bytes[p] as number) ^ mask;
        const want = expectedBlame(bytes, p);
        if (!want.codes.includes(e.code) || e.section !== want.section) {
          throw new Error(`byte ${p} ^ ${mask}: got ${e.code}/${e.section}, want ${want.codes.join('|')}/${want.section}: ${e.message}`);
        }
        const key = `${e.code}/${e.section}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    expect(readImage(bytes, 'hello.img').cmdline).toBe('/hello.js');
    for (const n of NAMES) expect(counts.get(`SECTION_CHECKSUM/${n}`)).toBeGreaterThan(0);
    expect(counts.get('HEADER_CHECKSUM/undefined')).toBeGreaterThan(0);
  });

  it('names the section that a section checksum mismatch is in', () => {
    const bytes = sampleImage();
    const p = entryAt(bytes, 0).offset + 3;
    bytes[p] = (bytes[p] as number) ^ 0x20;
    expect(refusal(bytes).message).toBe('image hello.img: section kernel checksum mismatch — rebuild with osv-build');
  });

  it('reports truncation at every length, naming the first incomplete part', () => {
    const bytes = sampleImage();
    const count = sectionCount(bytes);
    for (let n = 0; n < bytes.length; n += n < 600 ? 1 : 37) {
      const e = refusal(bytes.subarray(0, n));
      expect(e.code, `length ${n}: ${e.message}`).toBe('TRUNCATED');
      let want: string | undefined;
      for (let i = 0; i < count && n >= headerLengthFor(count); i++) {
        const { offset, length } = entryAt(bytes, i);
        if (offset + length > n) {
          want = NAMES[i];
          break;
        }
      }
      expect(e.section, `length ${n}`).toBe(want);
    }
    const { offset, length } = entryAt(bytes, 1);
    expect(refusal(bytes.subarray(0, offset + 10)).message).toBe(
      `image hello.img: truncated — section rootfs ends at byte ${offset + length} but the file has ${offset + 10} bytes`,
    );
  });

  it('says a foreign file is not an image', () => {
    const e = refusal(new TextEncoder().encode('remember the milk\n'), 'notes.txt');
    expect(e.code).toBe('NOT_AN_IMAGE');
    expect(e.message).toBe('notes.txt: not an osv-ts image (no OSVTSIMG magic)');
  });

  it('refuses another format version even with a valid checksum', () => {
    const bytes = sampleImage();
    new DataView(bytes.buffer).setUint32(H.version.offset, 2, true);
    reseal(bytes);
    const e = refusal(bytes);
    expect(e.code).toBe('UNSUPPORTED_VERSION');
    expect(e.message).toContain('format version 2 is not supported');
  });

  it('refuses bytes appended after the last section', () => {
    const bytes = sampleImage();
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(refusal(longer).code).toBe('BAD_SECTION_TABLE');
  });
});

/** Applies `change` to a fresh sample, recomputes the checksums, and returns readImage's refusal. */
function forged(change: (bytes: Uint8Array) => void): ImageError {
  const bytes = sampleImage();
  change(bytes);
  reseal(bytes);
  return refusal(bytes);
}

describe('readImage refuses a forged section table', () => {
  it('refuses overlapping sections', () => {
    const e = forged((b) => setEntry(b, 1, { offset: entryAt(b, 0).offset }));
    expect([e.code, e.section]).toEqual(['BAD_SECTION_TABLE', 'rootfs']);
  });

  it('refuses sections out of order', () => {
    const e = forged((b) => {
      const [k, r] = [entryAt(b, 0), entryAt(b, 1)];
      setEntry(b, 0, { name: 'rootfs', ...r });
      setEntry(b, 1, { name: 'kernel', ...k });
    });
    expect([e.code, e.section]).toEqual(['BAD_SECTION_TABLE', 'kernel']);
  });

  it('refuses a section that starts inside the header', () => {
    const e = forged((b) => setEntry(b, 0, { offset: 0 }));
    expect(e.code).toBe('BAD_SECTION_TABLE');
  });

  it('refuses a misaligned section', () => {
    const e = forged((b) => setEntry(b, 3, { offset: entryAt(b, 3).offset + 8 }));
    expect([e.code, e.section]).toEqual(['BAD_SECTION_TABLE', 'manifest']);
  });

  it('refuses lengths of 2^53 and more', () => {
    const e = forged((b) => new DataView(b.buffer).setUint32(IMAGE_HEADER_SIZE + SECTION_ENTRY_SIZE + E.lengthHi.offset, 2 ** 21, true));
    expect([e.code, e.section]).toEqual(['BAD_SECTION_TABLE', 'rootfs']);
    expect(e.message).toContain('2^53');
  });

  it('refuses duplicate names', () => {
    const e = forged((b) => setEntry(b, 2, { name: 'rootfs' }));
    expect([e.code, e.section]).toEqual(['BAD_SECTION_TABLE', 'rootfs']);
  });

  it('refuses a table without a required section', () => {
    const e = forged((b) => setEntry(b, 2, { name: 'notes' }));
    expect([e.code, e.section]).toEqual(['MISSING_SECTION', 'cmdline']);
    expect(e.message).toBe('image hello.img: section cmdline is missing — rebuild with osv-build');
  });

  it('refuses a bad section name', () => {
    const e = forged((b) => b.fill(0x07, IMAGE_HEADER_SIZE + E.name.offset, IMAGE_HEADER_SIZE + E.name.offset + 2));
    expect(e.code).toBe('BAD_SECTION_TABLE');
  });

  it('refuses a builder field that is not ASCII', () => {
    const e = forged((b) => (b[H.builderName.offset] = 0xc3));
    expect(e.code).toBe('BAD_HEADER');
  });
});

function replaceSection(bytes: Uint8Array, i: number, text: string): void {
  const { offset, length } = entryAt(bytes, i);
  const data = new TextEncoder().encode(text.padEnd(length, ' '));
  if (data.length !== length) throw new Error('replacement does not fit');
  bytes.set(data, offset);
}

describe('readImage checks section contents', () => {
  it('refuses a kernel that is not UTF-8', () => {
    const e = forged((b) => (b[entryAt(b, 0).offset] = 0xff));
    expect([e.code, e.section]).toEqual(['BAD_SECTION', 'kernel']);
  });

  it('refuses a manifest that is not JSON', () => {
    const e = forged((b) => replaceSection(b, 3, '{'));
    expect([e.code, e.section]).toEqual(['BAD_MANIFEST', 'manifest']);
  });

  it('refuses a manifest of the wrong shape, naming the field', () => {
    const bad = { ...SAMPLE_MANIFEST, requires: { ...SAMPLE_MANIFEST.requires, cpus: 0 }, builder: SAMPLE_BUILDER };
    const e = forged((b) => replaceSection(b, 3, JSON.stringify(bad)));
    expect([e.code, e.section]).toEqual(['BAD_MANIFEST', 'manifest']);
    expect(e.message).toContain('requires.cpus must be an integer from 1 to 64');
  });

  it('refuses a manifest whose builder differs from the header', () => {
    const e = forged((b) => (b[H.builderVersion.offset] = '9'.charCodeAt(0)));
    expect(e.code).toBe('BAD_MANIFEST');
  });
});

describe('writeImage refuses what it cannot encode', () => {
  const write = (over: object, builder = SAMPLE_BUILDER): unknown =>
    writeImage({ kernel: '', rootfs: new Uint8Array(), cmdline: '/a.js', manifest: SAMPLE_MANIFEST, ...over }, builder);
  const cases: [string, () => unknown][] = [
    ['a long command line', () => write({ cmdline: 'x'.repeat(4097) })],
    ['a builder name with non-ASCII', () => write({}, { name: 'bäu', version: '1' })],
    ['an empty builder version', () => write({}, { name: 'b', version: '' })],
    ['a section name with a space', () => write({ extra: { 'a b': new Uint8Array() } })],
    ['a section name of 17 bytes', () => write({ extra: { ['x'.repeat(17)]: new Uint8Array() } })],
    ['an extra section named kernel', () => write({ extra: { kernel: new Uint8Array() } })],
    ['a bad manifest', () => write({ manifest: { ...SAMPLE_MANIFEST, format: 2 } })],
  ];
  for (const [what, run] of cases) {
    it(`refuses ${what}`, () => {
      expect(run).toThrow(expect.objectContaining({ name: 'ImageError', code: 'BAD_INPUT' }));
    });
  }

  it('writes an empty command line and empty sections', () => {
    const image = readImage(write({ cmdline: '' }) as Uint8Array, 'empty.img');
    expect(image.cmdline).toBe('');
    expect(image.kernelSource).toBe('');
    expect(image.rootfs.length).toBe(0);
  });
});
