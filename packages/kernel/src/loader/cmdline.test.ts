import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KernelError } from '../errors.js';
import { parseCommandLine, splitWords } from './cmdline.js';

describe('splitWords', () => {
  it('splits on blanks and honours quotes and backslashes like a shell', () => {
    expect(splitWords('  /a.js  one "two three" \'four "five"\' six\\ seven ""')).toEqual([
      '/a.js',
      'one',
      'two three',
      'four "five"',
      'six seven',
      '',
    ]);
    expect(splitWords('"a\\"b"')).toEqual(['a"b']);
  });

  it('refuses an unterminated quote', () => {
    expect(() => splitWords('/a.js "open')).toThrow(KernelError);
  });

  it('round-trips any list of words quoted with single quotes', () => {
    fc.assert(
      fc.property(fc.array(fc.string().filter((s) => !s.includes("'"))), (words) => {
        expect(splitWords(words.map((w) => `'${w}'`).join(' '))).toEqual(words);
      }),
    );
  });
});

describe('parseCommandLine', () => {
  it('separates kernel options from the program and its arguments', () => {
    const c = parseCommandLine('--env=A=1 --env=B=x=y --verbose /hello.js --exit 7');
    expect(c.program).toBe('/hello.js');
    expect(c.argv).toEqual(['/hello.js', '--exit', '7']);
    expect(c.env).toEqual({ A: '1', B: 'x=y' });
    expect(c.verbose).toBe(true);
  });

  it('names what is wrong', () => {
    expect(() => parseCommandLine('')).toThrow(/names no program/);
    expect(() => parseCommandLine('hello.js')).toThrow(/absolute path/);
    expect(() => parseCommandLine('--bogus /a.js')).toThrow(/unknown kernel option --bogus/);
    expect(() => parseCommandLine('--env=NOVALUE /a.js')).toThrow(/--env=NAME=VALUE/);
    expect(() => parseCommandLine('--halt-poll=-5 /a.js')).toThrow(/--halt-poll=NS/);
    expect(() => parseCommandLine('--halt-poll=2e5 /a.js')).toThrow(/whole number of nanoseconds/);
  });

  it('takes --halt-poll=NS for the adaptive idle poll window, and leaves it out by default', () => {
    expect(parseCommandLine('--halt-poll=0 /a.js').haltPollNs).toBe(0);
    expect(parseCommandLine('--halt-poll=500000 /a.js').haltPollNs).toBe(500_000);
    expect('haltPollNs' in parseCommandLine('/a.js')).toBe(false);
  });

  it('takes --net-rx-buffer=BYTES for virtio-net receive buffers, at least the 12-byte header', () => {
    expect(parseCommandLine('--net-rx-buffer=64 /a.js').netRxBufferBytes).toBe(64);
    expect(parseCommandLine('--net-rx-buffer=12 /a.js').netRxBufferBytes).toBe(12);
    expect('netRxBufferBytes' in parseCommandLine('/a.js')).toBe(false);
    for (const bad of ['11', '0', '-64', '1e3', '', '100000']) expect(() => parseCommandLine(`--net-rx-buffer=${bad} /a.js`)).toThrow(/--net-rx-buffer=BYTES/);
  });
});
