/**
 * virtio-rng, the entropy device (virtio-v1.2 section 5.4): one request
 * queue of device-writable buffers that the device fills from the host's
 * cryptographic random source (crypto.randomFillSync, which Node reads from
 * the kernel's CSPRNG). Bytes go straight into guest memory, segment by
 * segment, with no host buffer in between.
 *
 * A request may ask for at most MAX_FILL bytes per chain; the device fills
 * that much and reports it as the used length (5.4.6.1 lets it use less than
 * the whole buffer). Device-readable segments carry nothing for this device
 * and are ignored.
 */
import { randomFillSync } from 'node:crypto';
import { VIRTIO_ENTROPY_CONFIG_SIZE, VIRTIO_ENTROPY_REQUESTQ, VIRTIO_ID_ENTROPY } from '@osv-ts/virtio';
import type { VirtioDeviceModel, VirtioTransport, VirtqueueDevice } from '@osv-ts/virtio/device';
import { VirtioMmioDevice, type DeviceWiring, type VirtioMmioDeviceOptions } from './virtioMmioDevice.js';

/** QueueNumMax of the request queue. */
const ENTROPY_QUEUE_SIZE = 64;
/** Most bytes filled per request, bytes (a guest cannot make the hv fill gigabytes per notify). */
export const MAX_FILL = 64 * 1024;

/** The virtio-rng device model. */
export class EntropyModel implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_ENTROPY;
  /** Virtio 5.4.3: no device-specific feature bits. */
  readonly features = 0n;
  readonly queueCount = 1;
  readonly configSize = VIRTIO_ENTROPY_CONFIG_SIZE;
  /** Random bytes handed to the guest so far. */
  bytesServed = 0;
  private readonly mem: Uint8Array;
  private transport: VirtioTransport | undefined;

  constructor(memory: SharedArrayBuffer) {
    this.mem = new Uint8Array(memory);
  }

  attach(transport: VirtioTransport): void {
    this.transport = transport;
  }

  queueMaxSize(): number {
    return ENTROPY_QUEUE_SIZE;
  }

  configRead(): number {
    return 0;
  }

  queueNotify(index: number, q: VirtqueueDevice): void {
    if (index !== VIRTIO_ENTROPY_REQUESTQ) return;
    const c = q.chain;
    for (let head = q.pop(); head >= 0; head = q.pop()) {
      let left = MAX_FILL;
      for (let i = c.readableCount; i < c.count && left > 0; i++) {
        const n = Math.min(c.segmentLength(i), left);
        randomFillSync(this.mem, c.segmentAddress(i), n);
        left -= n;
      }
      const filled = MAX_FILL - left;
      this.bytesServed += filled;
      q.pushUsed(head, filled);
    }
    this.transport?.flush(VIRTIO_ENTROPY_REQUESTQ);
  }

  reset(): void {
    // Nothing is in flight: every request is answered inside queueNotify.
  }
}

/** A virtio-rng device on the MMIO bus. */
export function createEntropyDevice(wiring: DeviceWiring, options: VirtioMmioDeviceOptions = {}): { device: VirtioMmioDevice; model: EntropyModel } {
  const model = new EntropyModel(wiring.memory);
  return { device: new VirtioMmioDevice('entropy', model, wiring, options), model };
}
