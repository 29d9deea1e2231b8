/**
 * Frames a network device has received from its backend but not yet placed
 * in guest receive buffers: a fixed ring of fixed-size slots, allocated once,
 * so holding a frame is one copy and no allocation. When it fills, the
 * device pauses its backend (or, for frames already decoded, drops them).
 */

/** A FIFO of frames in preallocated slots. */
export class FrameQueue {
  /** Longest frame a slot holds, bytes. */
  readonly slotBytes: number;
  /** Number of slots. */
  readonly slots: number;
  private readonly views: Uint8Array[] = [];
  private readonly lengths: Uint32Array;
  private first = 0;
  private n = 0;

  constructor(slotBytes: number, slots: number) {
    this.slotBytes = slotBytes;
    this.slots = slots;
    const store = new Uint8Array(slotBytes * slots);
    for (let i = 0; i < slots; i++) this.views.push(store.subarray(i * slotBytes, (i + 1) * slotBytes));
    this.lengths = new Uint32Array(slots);
  }

  /** Frames held. */
  get count(): number {
    return this.n;
  }

  /** Slots free. */
  get free(): number {
    return this.slots - this.n;
  }

  /** Copies a frame in; false when the queue is full or the frame longer than a slot. */
  push(data: Uint8Array, offset: number, length: number): boolean {
    if (this.n === this.slots || length > this.slotBytes) return false;
    const i = (this.first + this.n) % this.slots;
    this.views[i]!.set(data.subarray(offset, offset + length));
    this.lengths[i] = length;
    this.n++;
    return true;
  }

  /** The oldest frame's slot (its bytes start at 0), valid until shift(); the queue must not be empty. */
  oldest(): Uint8Array {
    return this.views[this.first]!;
  }

  /** The oldest frame's length, bytes. */
  oldestLength(): number {
    return this.lengths[this.first]!;
  }

  /** Drops the oldest frame. */
  shift(): void {
    if (this.n === 0) return;
    this.first = (this.first + 1) % this.slots;
    this.n--;
  }
}
