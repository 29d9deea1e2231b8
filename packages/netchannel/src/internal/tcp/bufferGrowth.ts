/**
 * Socket rings that grow while a connection needs them. SO_SNDBUF and
 * SO_RCVBUF are limits, as on Linux, not allocations: a connection's rings
 * start at INITIAL_RING_BYTES and double (up to the limit) when the
 * application writes more than the send ring holds, or when received data
 * fills more than half the receive ring. An idle or request/response
 * connection keeps 32 KiB of arena memory; a bulk transfer soon has its full
 * window. Like Linux's tcp_mem pressure level, growth stops while the arena
 * is more than PRESSURE_FRACTION in use, so busy connections cannot take the
 * memory new connections need to start; and when the arena has no bigger
 * block the ring simply stays as it is.
 *
 * Growing the receive ring only ever opens the window, never shrinks it
 * (RFC 9293 §3.8.6.2.2); the window scale in the SYN is sized for the limit.
 */
import type { MbufPool } from '../../mbufPool.js';
import type { Tcb } from './tcb.js';

/** Size a connection's send and receive rings start with, bytes (a power of two). */
export const INITIAL_RING_BYTES = 16 * 1024;

/** Above this fraction of the arena in use, rings no longer grow. */
export const PRESSURE_FRACTION = 0.75;

/** A block of `cap` bytes for a growing ring, or -1 under memory pressure or when none is free. */
function allocForGrowth(pool: MbufPool, cap: number): number {
  const arena = pool.arena;
  if (arena.bytesInUse + cap > arena.capacity * PRESSURE_FRACTION) return -1;
  return arena.alloc(cap);
}

/** The block size at least `bytes` and at least twice `cap`, capped at `max`. */
function nextCap(cap: number, bytes: number, max: number): number {
  let c = cap * 2;
  while (c < bytes && c < max) c *= 2;
  return Math.min(c, max);
}

/** Moves `tp`'s receive ring to a block twice its size (within SO_RCVBUF); false at the limit, under pressure, or with the arena full. */
export function growReceiveRing(pool: MbufPool, tp: Tcb): boolean {
  const rcv = tp.rcv;
  if (rcv === null || rcv.cap >= tp.rcvBufMax) return false;
  return moveRing(pool, rcv, nextCap(rcv.cap, 0, tp.rcvBufMax));
}

/** Grows `tp`'s send ring towards holding `bytes` (within SO_SNDBUF); false at the limit, under pressure, or with the arena full. */
export function growSendRing(pool: MbufPool, tp: Tcb, bytes: number): boolean {
  const snd = tp.snd;
  if (snd === null || snd.cap >= tp.sndBufMax) return false;
  return moveRing(pool, snd, nextCap(snd.cap, bytes, tp.sndBufMax));
}

/** Moves `ring` into a new block of `cap` bytes and releases its old one; false when none is to be had. */
function moveRing(pool: MbufPool, ring: { readonly base: number; moveTo(base: number, cap: number): void }, cap: number): boolean {
  const at = allocForGrowth(pool, cap);
  if (at < 0) return false;
  const old = ring.base;
  ring.moveTo(at, cap);
  pool.arena.release(old);
  return true;
}
