import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ERRNO, errnoName, strerror, type ErrnoName } from './index.js';

// Differential against the host: Linux's errno numbers as Node (libuv) knows them.
describe('ERRNO', () => {
  const names = Object.keys(ERRNO) as ErrnoName[];

  it("agrees with the host's errno numbers for every name", () => {
    for (const name of names) {
      const host = (constants.errno as Record<string, number>)[name === 'EOPNOTSUPP' ? 'EOPNOTSUPP' : name];
      expect(ERRNO[name][0], name).toBe(host);
    }
  });

  it('maps numbers back to the names the host uses', () => {
    for (const name of names) {
      const n = ERRNO[name][0];
      expect(errnoName(n)).toBe(name);
      // libuv names EOPNOTSUPP as ENOTSUP (the same number on Linux) and does
      // not know every errno (ENOEXEC...): compare where it has a name.
      const host = getSystemErrorName(-n);
      if (!host.startsWith('Unknown')) expect([name, name === 'EOPNOTSUPP' ? 'ENOTSUP' : name]).toContain(host);
    }
  });

  it('gives glibc messages and "Unknown error N" for the rest', () => {
    expect(strerror(2)).toBe('No such file or directory');
    expect(strerror(111)).toBe('Connection refused');
    expect(strerror(4242)).toBe('Unknown error 4242');
  });
});
