import { format as nodeFormat } from 'node:util';
import { describe, expect, it } from 'vitest';
import { format } from './format.js';

// Differential: the kernel's console formats as Node's util.format does for
// the values programs usually print.
const cases: unknown[][] = [
  ['plain text'],
  ['%s is %d years and %i days, %f%%', 'Ann', 42, '7.9', '1.5'],
  ['json %j', { a: [1, 'x'] }],
  [1, 'two', true, null, undefined, 3n],
  [{ a: 1, b: 'x', c: [1, 2, 3] }],
  [[1, [2, [3, [4]]]]],
  [new Map([['k', 1]])],
  [new Set([1, 2])],
  [new Uint8Array([1, 2, 3])],
  ['%s', { nested: { deep: { deeper: 1 } } }],
  [-0, NaN, Infinity],
  ['extra', 'args', 'joined'],
  ['%s %s', 'only-one'],
  [{ 'needs quotes': 1, ok: 2 }],
];

describe('format', () => {
  for (const args of cases) {
    it(`matches util.format for ${nodeFormat('%o', args).slice(0, 60)}`, () => {
      expect(format(args)).toBe(nodeFormat(...args));
    });
  }

  it('marks cycles instead of recursing forever', () => {
    const a: Record<string, unknown> = { x: 1 };
    a['self'] = a;
    expect(format([a])).toContain('[Circular *]');
  });

  it('prints an error with its stack', () => {
    const e = new Error('boom');
    expect(format([e])).toBe(e.stack);
  });
});
