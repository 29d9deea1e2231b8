/**
 * The ChaCha20 block function against OpenSSL's (Node's 'chacha20' cipher,
 * whose 16-byte IV is the 32-bit little-endian block counter followed by
 * the 96-bit nonce, RFC 8439 2.4): the keystream must match for any key,
 * nonce and counter, and the RFC's block-function vector must come out.
 */
import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chacha20Block } from './chacha20.js';

function ours(key: Uint8Array, counter: number, nonce: Uint8Array): Uint8Array {
  const out = new Uint32Array(16);
  chacha20Block(new Uint32Array(key.slice().buffer), counter, new Uint32Array(nonce.slice().buffer), out);
  return new Uint8Array(out.buffer);
}

function openssl(key: Uint8Array, counter: number, nonce: Uint8Array): Uint8Array {
  const iv = Buffer.alloc(16);
  iv.writeUInt32LE(counter >>> 0, 0);
  iv.set(nonce, 4);
  return createCipheriv('chacha20', key, iv).update(Buffer.alloc(64));
}

describe('chacha20Block (RFC 8439 2.3)', () => {
  it('produces the RFC 8439 2.3.2 test vector', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const nonce = Uint8Array.of(0, 0, 0, 9, 0, 0, 0, 0x4a, 0, 0, 0, 0);
    const block = Buffer.from(ours(key, 1, nonce)).toString('hex');
    expect(block.slice(0, 32)).toBe('10f1e7e4d13b5915500fdd1fa32071c4');
    expect(block.slice(-32)).toBe('b5129cd1de164eb9cbd083e8a2503c4e'); // words 0xd19c12b5... serialised little-endian
  });

  it('matches OpenSSL for any key, counter and nonce', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(0xffffffff), fc.uint8Array({ minLength: 12, maxLength: 12 }), (key, counter, nonce) => {
        expect(Buffer.from(ours(key, counter, nonce)).equals(Buffer.from(openssl(key, counter, nonce)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
