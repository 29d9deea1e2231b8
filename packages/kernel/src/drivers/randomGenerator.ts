/**
 * The kernel's random generator, after Linux's drivers/char/random.c: a
 * ChaCha20 keystream under a 256-bit key that is seeded from the virtio-rng
 * device at boot and reseeded whenever fresh device bytes arrive. "Fast key
 * erasure" (Bernstein): after every request the key is replaced by keystream
 * that was never output, so the generator's state never reveals what it
 * produced before.
 *
 * Without an entropy device the key is seeded from clock jitter, which is
 * not secret; `source` says which it was. The generator implements
 * netchannel's Entropy (random32) as well as filling byte arrays.
 */
import { CHACHA20_BLOCK_BYTES, chacha20Block } from './chacha20.js';

/** Where the generator's seed came from. */
export type RandomSource = 'virtio-rng' | 'timer-jitter' | 'unseeded';

/** A ChaCha20-based random generator with fast key erasure. */
export class RandomGenerator {
  private readonly key = new Uint32Array(8);
  private readonly nonce = new Uint32Array(3);
  private readonly block = new Uint32Array(16);
  private readonly bytes = new Uint8Array(this.block.buffer);
  private counter = 0;
  private used = CHACHA20_BLOCK_BYTES;
  private seededFrom: RandomSource = 'unseeded';

  /** What seeded the generator last. */
  get source(): RandomSource {
    return this.seededFrom;
  }

  /** Mixes `entropy` into the key (XOR, then a rekey), recording its source. */
  reseed(entropy: Uint8Array, source: RandomSource): void {
    for (let i = 0; i < entropy.length; i++) this.key[(i >>> 2) & 7]! ^= entropy[i]! << ((i & 3) * 8);
    this.nonce[0] = (this.nonce[0]! + 1) | 0;
    this.rekey();
    if (this.seededFrom !== 'virtio-rng') this.seededFrom = source;
  }

  /** Fills `dst` with random bytes, then erases the key that made them. */
  fill(dst: Uint8Array): void {
    for (let at = 0; at < dst.length; ) {
      if (this.used === CHACHA20_BLOCK_BYTES) this.next();
      const n = Math.min(CHACHA20_BLOCK_BYTES - this.used, dst.length - at);
      for (let i = 0; i < n; i++) dst[at + i] = this.bytes[this.used + i]!;
      this.used += n;
      at += n;
    }
    this.rekey();
  }

  /** A uniformly random integer in [0, 2^32). */
  random32(): number {
    if (this.used + 4 > CHACHA20_BLOCK_BYTES) this.next();
    const w = this.block[this.used >>> 2]!;
    this.block[this.used >>> 2] = 0;
    this.used += 4;
    return w >>> 0;
  }

  /** The next keystream block; a new key before the 32-bit counter could wrap. */
  private next(): void {
    if (this.counter === 0xffffffff) this.rekey();
    chacha20Block(this.key, this.counter, this.nonce, this.block);
    this.counter = (this.counter + 1) >>> 0;
    this.used = 0;
  }

  /** Replaces the key with fresh keystream and discards the rest of that block. */
  private rekey(): void {
    chacha20Block(this.key, this.counter, this.nonce, this.block);
    for (let i = 0; i < 8; i++) this.key[i] = this.block[i]!;
    this.block.fill(0);
    this.counter = 0;
    this.used = CHACHA20_BLOCK_BYTES;
  }
}
