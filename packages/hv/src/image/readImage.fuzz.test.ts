import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readImage } from './readImage.js';
import { ImageError } from './imageError.js';
import { IMAGE_HEADER_LAYOUT as H, IMAGE_HEADER_SIZE, SECTION_ENTRY_SIZE } from './imageLayout.js';
import { reseal, sampleImage, setEntry } from './imageTestSupport.js';

/** readImage either returns a consistent image or throws an ImageError; nothing else escapes. */
function probe(bytes: Uint8Array): void {
  let image;
  try {
    image = readImage(bytes, 'fuzz.img');
  } catch (e) {
    if (e instanceof ImageError) return;
    throw e;
  }
  for (const s of image.sectionTable) {
    expect(s.bytes.buffer).toBe(bytes.buffer);
    expect(s.bytes.byteOffset + s.bytes.length).toBeLessThanOrEqual(bytes.byteOffset + bytes.length);
  }
  expect(typeof image.kernelSource).toBe('string');
  expect(image.manifest.format).toBe(1);
}

const sample = sampleImage({ extra: { notes: new Uint8Array([5, 6, 7]) } });
const patches = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 });

describe('readImage under fuzzing', () => {
  it('survives random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => probe(bytes)), { numRuns: 500 });
  });

  it('survives random headers after a valid magic and version', () => {
    const arb = fc.uint8Array({ minLength: IMAGE_HEADER_SIZE, maxLength: 2048 }).map((bytes) => {
      bytes.set(new TextEncoder().encode('OSVTSIMG'));
      new DataView(bytes.buffer).setUint32(H.version.offset, 1, true);
      reseal(bytes);
      return bytes;
    });
    fc.assert(fc.property(arb, (bytes) => probe(bytes)), { numRuns: 500 });
  });

  it('survives mutated, truncated and resealed images', () => {
    const arb = fc.record({ patches, cut: fc.option(fc.nat({ max: sample.length })), seal: fc.boolean() });
    fc.assert(
      fc.property(arb, ({ patches: ps, cut, seal }) => {
        const bytes = sample.slice(0, cut ?? sample.length);
        for (const [pos, value] of ps) if (bytes.length > 0) bytes[pos % bytes.length] = value;
        if (seal) reseal(bytes);
        probe(bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('survives forged section tables', () => {
    const entry = fc.record({
      name: fc.constantFrom('kernel', 'rootfs', 'cmdline', 'manifest', 'notes', 'x'),
      offset: fc.oneof(fc.nat({ max: 8 }).map((n) => n * 4096), fc.nat(), fc.constant(2 ** 53 - 4096)),
      length: fc.oneof(fc.nat({ max: 5000 }), fc.constant(2 ** 53 - 1)),
    });
    const arb = fc.array(fc.option(entry), { minLength: 5, maxLength: 5 });
    fc.assert(
      fc.property(arb, (entries) => {
        const bytes = sample.slice();
        entries.forEach((e, i) => e !== null && setEntry(bytes, i, e));
        reseal(bytes);
        probe(bytes);
      }),
      { numRuns: 1000 },
    );
    expect(IMAGE_HEADER_SIZE + 5 * SECTION_ENTRY_SIZE).toBeLessThan(4096);
  });
});
