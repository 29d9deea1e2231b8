/**
 * A small device model for tests: every chain's readable bytes come back in
 * its writable part with each byte incremented by one (so a test can tell
 * device output from its own input). Its configuration space is a 16-byte
 * little-endian buffer the test can change (bumping ConfigGeneration).
 */

import type { DescriptorChain } from '../../ring/descriptorChain.js';
import type { VirtqueueDevice } from '../../ring/virtqueueDevice.js';
import type { ConfigAccessSize, VirtioDeviceModel, VirtioTransport } from '../../transport/virtioDeviceModel.js';

export class EchoModel implements VirtioDeviceModel {
  readonly deviceId: number;
  readonly features: bigint;
  readonly queueCount: number;
  readonly configSize = 16;
  readonly config = new Uint8Array(16);
  transport: VirtioTransport | null = null;
  resets = 0;
  notifies = 0;
  popped = 0;
  errors = 0;
  /** When set, the next configRead calls it first (to change the config under the driver's feet). */
  onConfigRead: (() => void) | null = null;
  acceptFeatures?: (features: bigint) => boolean;
  private scratch = new Uint8Array(65536);

  constructor(opts: { deviceId?: number; features?: bigint; queueCount?: number; queueMax?: number } = {}) {
    this.deviceId = opts.deviceId ?? 0x7f;
    this.features = opts.features ?? 0n;
    this.queueCount = opts.queueCount ?? 2;
    this.max = opts.queueMax ?? 256;
  }
  private readonly max: number;

  attach(t: VirtioTransport): void {
    this.transport = t;
  }
  queueMaxSize(): number {
    return this.max;
  }
  configRead(offset: number, size: ConfigAccessSize): number {
    const hook = this.onConfigRead;
    this.onConfigRead = null;
    hook?.();
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.config[offset + i]!;
    return v;
  }
  configWrite(offset: number, size: ConfigAccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.config[offset + i] = (value >>> (8 * i)) & 0xff;
  }
  queueNotify(index: number, q: VirtqueueDevice): void {
    this.notifies++;
    for (;;) {
      const head = q.pop();
      if (head < 0) {
        if (head !== -1) this.errors++;
        break;
      }
      this.popped++;
      q.pushUsed(head, echo(q.chain, this.scratch));
    }
    this.transport?.flush(index);
  }
  reset(): void {
    this.resets++;
  }
}

/** Copies readable bytes + 1 into the writable part; returns bytes written. */
export function echo(c: DescriptorChain, scratch: Uint8Array): number {
  let done = 0;
  while (done < c.readableBytes && done < c.writableBytes) {
    const n = c.read(scratch.subarray(0, Math.min(scratch.length, c.readableBytes - done)), done);
    for (let i = 0; i < n; i++) scratch[i] = (scratch[i]! + 1) & 0xff;
    done += c.write(scratch, done, n);
    if (n === 0) break;
  }
  return done;
}
