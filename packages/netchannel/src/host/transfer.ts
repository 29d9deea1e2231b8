/// <reference types="node" />
/**
 * Bulk-transfer driver for tests and benchmarks: pushes `bytes` of
 * deterministic pseudo-random data through a TCP socket while hashing it with
 * SHA-256, and reads the other side to end of stream, hashing what arrives.
 */
import { createHash } from 'node:crypto';
import type { TcpSocket } from '../tcpSocket.js';

/** Fills `buf` from a xorshift32 stream whose state is `state[0]`. */
export function fillPattern(buf: Uint8Array, state: Uint32Array): void {
  let x = state[0]!;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x >>> 24;
  }
  state[0] = x;
}

/** Writes `bytes` of pattern `seed` in `chunk`-sized writes, then shuts down sending. Resolves with the SHA-256 (hex). */
export async function sendAll(sock: TcpSocket, bytes: number, seed: number, chunk = 65536): Promise<string> {
  const h = createHash('sha256');
  const state = Uint32Array.of(seed || 1);
  const buf = new Uint8Array(chunk);
  for (let sent = 0; sent < bytes; ) {
    const n = Math.min(chunk, bytes - sent);
    const part = buf.subarray(0, n);
    fillPattern(part, state);
    h.update(part);
    await sock.write(part);
    sent += n;
  }
  sock.shutdown(1);
  return h.digest('hex');
}

/** Reads to end of stream. Resolves with {bytes, sha256}. */
export async function receiveAll(sock: TcpSocket, chunk = 65536): Promise<{ bytes: number; sha256: string }> {
  const h = createHash('sha256');
  const buf = new Uint8Array(chunk);
  let total = 0;
  for (;;) {
    const n = await sock.read(buf);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    total += n;
  }
  return { bytes: total, sha256: h.digest('hex') };
}
