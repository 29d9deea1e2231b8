/**
 * The receive half of QEMU's stream netdev protocol (`-netdev stream`,
 * which passt speaks): each frame is a 4-byte big-endian length followed by
 * that many bytes of Ethernet frame, with no virtio-net header. A byte stream
 * cuts frames anywhere: one chunk may hold many frames, a frame or even its
 * length field may span many chunks, down to one byte per chunk.
 *
 * A frame that lies whole inside a chunk is handed on in place (no copy);
 * one that spans chunks is gathered in a buffer allocated once. A length
 * above `maxFrame` means the stream is not (or no longer) this protocol:
 * there is no way to find the next frame, so the decoder stops and reports.
 * Zero-length frames carry nothing and are skipped.
 */

/** Bytes of the length prefix. */
export const STREAM_LENGTH_BYTES = 4;

/** Where decoded frames go. */
export interface FrameSink {
  /** One frame in `data[offset, offset+length)`, valid only during the call. */
  (data: Uint8Array, offset: number, length: number): void;
}

/** A decoder for one stream connection. */
export class StreamFrameDecoder {
  /** Frames decoded so far. */
  frames = 0;
  /** Zero-length frames skipped. */
  emptyFrames = 0;
  private readonly gather: Uint8Array;
  private need = -1; // length of the frame being read; -1 while reading its length
  private have = 0; // bytes of it gathered so far
  private lenValue = 0;
  private lenHave = 0;
  private failed: string | null = null;

  /**
   * @param maxFrame longest frame accepted, bytes
   * @param sink receives each frame
   */
  constructor(
    readonly maxFrame: number,
    private readonly sink: FrameSink,
  ) {
    this.gather = new Uint8Array(maxFrame);
  }

  /** Why decoding stopped, or null while the stream is healthy. */
  get error(): string | null {
    return this.failed;
  }

  /** Feeds the next chunk of the stream. Returns false once the stream is broken (see `error`). */
  push(chunk: Uint8Array): boolean {
    if (this.failed !== null) return false;
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.need < 0) {
        at = this.readLength(chunk, at);
        if (this.failed !== null) return false;
        continue;
      }
      const want = this.need - this.have;
      if (this.have === 0 && end - at >= want) {
        this.deliver(chunk, at, want);
        at += want;
        continue;
      }
      const n = Math.min(want, end - at);
      this.gather.set(chunk.subarray(at, at + n), this.have);
      this.have += n;
      at += n;
      if (this.have === this.need) this.deliver(this.gather, 0, this.need);
    }
    return true;
  }

  /** Consumes length-prefix bytes from `chunk` at `at`; returns the new position. */
  private readLength(chunk: Uint8Array, at: number): number {
    while (this.lenHave < STREAM_LENGTH_BYTES && at < chunk.length) {
      this.lenValue = this.lenValue * 256 + chunk[at++]!;
      this.lenHave++;
    }
    if (this.lenHave < STREAM_LENGTH_BYTES) return at;
    const len = this.lenValue;
    this.lenValue = 0;
    this.lenHave = 0;
    if (len > this.maxFrame) {
      this.failed = `peer sent a frame length of ${len} bytes, above the ${this.maxFrame}-byte limit: not the stream protocol, or out of step`;
    } else if (len === 0) {
      this.emptyFrames++;
    } else {
      this.need = len;
      this.have = 0;
    }
    return at;
  }

  private deliver(data: Uint8Array, offset: number, length: number): void {
    this.need = -1;
    this.have = 0;
    this.frames++;
    this.sink(data, offset, length);
  }
}
