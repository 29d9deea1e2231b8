/**
 * Partial transport checksums for links that compute them (Linux's
 * CHECKSUM_PARTIAL, virtio-net's NEEDS_CSUM, virtio-v1.2 §5.1.6.2): TCP and
 * UDP output store the folded pseudo-header sum in the checksum field and
 * mark the mbuf; whoever finishes the job — the link, or `completeChecksum`
 * when the packet goes somewhere that cannot (loopback, a link without the
 * capability, IP fragmentation) — sums the transport header and payload over
 * that field and stores the complement. The sum then equals what the
 * transport would have computed itself, so nothing downstream can tell.
 */
import { put16 } from './wire/bytes.js';
import { finishChecksum, pseudoHeaderSum, sumBytes } from './wire/checksum.js';
import { IPPROTO_TCP, IPPROTO_UDP } from './wire/ipv4.js';
import { TH_SUM } from './wire/tcp.js';
import { UH_SUM } from './wire/udp.js';

/** The value a partial checksum field holds: the pseudo-header sum folded to 16 bits, not complemented. */
export function partialChecksum(src: number, dst: number, protocol: number, length: number): number {
  return ~finishChecksum(pseudoHeaderSum(src, dst, protocol, length)) & 0xffff;
}

/** Offset of the checksum field within the transport header of `protocol`, or -1 when it has none we offload. */
export function checksumFieldOffset(protocol: number): number {
  return protocol === IPPROTO_TCP ? TH_SUM : protocol === IPPROTO_UDP ? UH_SUM : -1;
}

/**
 * Completes the partial checksum of the transport packet in `b[l4, l4+len)`
 * in place. UDP's computed zero goes out as all ones (RFC 768), as the
 * transport would have sent it.
 */
export function completeChecksum(b: Uint8Array, l4: number, len: number, protocol: number): void {
  const field = checksumFieldOffset(protocol);
  if (field < 0) return;
  const sum = finishChecksum(sumBytes(b, l4, len, 0));
  put16(b, l4 + field, sum === 0 && protocol === IPPROTO_UDP ? 0xffff : sum);
}
