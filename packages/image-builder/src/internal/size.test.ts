import { describe, expect, it } from 'vitest';
import { formatBytes, parseMemory } from './size.js';

describe('parseMemory', () => {
  it('reads sizes as osv-run does', () => {
    expect(parseMemory('64M', 'm')).toBe(64 * 2 ** 20);
    expect(parseMemory('1G', 'm')).toBe(2 ** 30);
    expect(parseMemory('1.5GiB', 'm')).toBe(1.5 * 2 ** 30);
    expect(parseMemory('8192k', 'm')).toBe(8 * 2 ** 20);
    expect(parseMemory('67108864', 'm')).toBe(67108864);
    expect(parseMemory(16 * 2 ** 20, 'm')).toBe(16 * 2 ** 20);
  });

  it('refuses what is not a usable guest memory size, naming the setting', () => {
    for (const bad of ['', 'lots', '64Q', '-1M', '1M', '4097K', 2 ** 53]) {
      expect(() => parseMemory(bad, '--memory')).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/^--memory: /) }));
    }
  });
});

describe('formatBytes', () => {
  it('prints binary units', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(3584)).toBe('3.5 KiB');
    expect(formatBytes(64 * 2 ** 20)).toBe('64 MiB');
  });
});
