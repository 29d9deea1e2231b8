import { describe, expect, it } from 'vitest';
import { canonicalJson, manifestProblem } from './imageManifest.js';
import { SAMPLE_BUILDER, SAMPLE_MANIFEST } from './imageTestSupport.js';

const good = { ...SAMPLE_MANIFEST, builder: SAMPLE_BUILDER };

describe('manifestProblem', () => {
  it('accepts a valid manifest', () => {
    expect(manifestProblem(good)).toBeUndefined();
  });

  const bad: [string, unknown, string][] = [
    ['not an object', [], 'manifest must be an object'],
    ['a wrong format', { ...good, format: 2 }, 'format must be 1'],
    ['an unknown key', { ...good, extra: true }, 'unknown key extra'],
    ['a missing key', { ...good, app: { name: 'a', version: '1' } }, 'missing app.entry'],
    ['an empty module name', { ...good, modules: [{ name: '', package: 'p', version: '1' }] }, 'modules[0].name must be a non-empty string'],
    ['a fractional memory', { ...good, requires: { ...good.requires, memory: 1.5 } }, 'requires.memory must be an integer'],
    ['an unaligned memory', { ...good, requires: { ...good.requires, memory: 64 * 1024 * 1024 + 1 } }, 'requires.memory must be a multiple of 4096'],
    ['too many cpus', { ...good, requires: { ...good.requires, cpus: 65 } }, 'requires.cpus must be an integer from 1 to 64'],
    ['devices not strings', { ...good, requires: { ...good.requires, devices: [1] } }, 'requires.devices[0] must be a non-empty string'],
    ['no builder', { ...SAMPLE_MANIFEST }, 'missing builder'],
  ];
  for (const [what, value, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(manifestProblem(value)).toContain(message);
    });
  }
});

describe('canonicalJson', () => {
  it('sorts keys at every depth, whatever the insertion order', () => {
    const a = canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 2 } });
    const b = canonicalJson({ a: { c: 2, d: [{ y: 2, z: 1 }] }, b: 1 });
    expect(a).toBe(b);
    expect(a).toBe('{\n  "a": {\n    "c": 2,\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n');
  });
});
