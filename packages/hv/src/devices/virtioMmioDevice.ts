/**
 * A virtio device on the hv's MMIO bus: the virtio package's register file
 * and status state machine (MmioTransportDevice) around one device model.
 * Every device type (console, block, entropy, net) is attached through this
 * class, so the MMIO side is written once; the model is the device's
 * behaviour.
 */
import { VIRTIO_F_INDIRECT_DESC, featureBit } from '@osv-ts/virtio';
import { MmioTransportDevice, type SharedWord, type VirtioDeviceModel } from '@osv-ts/virtio/device';
import type { MmioDevice } from '../mmioBus.js';

/** What every device gets from the machine. */
export interface DeviceWiring {
  /** Guest physical memory. */
  readonly memory: SharedArrayBuffer;
  /** Raises the device's interrupt line on vCPU 0. */
  readonly raiseIrq: () => void;
  /** The line's IRQ_STATUS word in the control buffer (abi.ts), where InterruptStatus lives; omitted: a private field. */
  readonly interruptStatus?: SharedWord;
  /** hv diagnostics; the device prefixes its name. */
  readonly log: (message: string) => void;
}

/** Options of a virtio MMIO device beyond its model. */
export interface VirtioMmioDeviceOptions {
  /**
   * Offer VIRTIO_F_EVENT_IDX (default true). Benchmarks turn it off to
   * measure what notification suppression saves.
   */
  readonly eventIdx?: boolean;
  /** Releases the model's host resources at power-off. */
  readonly close?: () => Promise<void> | void;
}

/** One virtio-mmio window serving `model`. */
export class VirtioMmioDevice implements MmioDevice {
  readonly deviceId: number;
  /** The transport, for tests and for the model's owner. */
  readonly transport: MmioTransportDevice;
  private readonly onClose: (() => Promise<void> | void) | undefined;

  /**
   * @param kind short name used in logs and the manifest ("block", "net"...)
   * @throws VirtioError EINVAL when the model declares an impossible queue count
   */
  constructor(
    readonly kind: string,
    model: VirtioDeviceModel,
    wiring: DeviceWiring,
    options: VirtioMmioDeviceOptions = {},
  ) {
    this.deviceId = model.deviceId;
    // Without EVENT_IDX only INDIRECT_DESC is offered of the ring features.
    const ringFeatures = {
      ...(options.eventIdx === false ? { ringFeatures: featureBit(VIRTIO_F_INDIRECT_DESC) } : {}),
      ...(wiring.interruptStatus === undefined ? {} : { interruptStatusWord: wiring.interruptStatus }),
    };
    this.transport = new MmioTransportDevice(
      wiring.memory,
      model,
      { raiseInterrupt: wiring.raiseIrq, log: (m: string) => wiring.log(`${kind}: ${m}`) },
      ringFeatures,
    );
    this.onClose = options.close;
  }

  read(offset: number, size: number): number {
    return this.transport.read(offset, size);
  }

  write(offset: number, size: number, value: number): void {
    this.transport.write(offset, size, value);
  }

  close(): Promise<void> | void {
    return this.onClose?.();
  }
}
