/**
 * The devices a machine gets beyond its console, prepared before the machine
 * exists: disk files and overlays are opened, stream peers connected and
 * pcap files created up front (Machine.boot is asynchronous, the machine's
 * constructor is not), so a bad `--disk` or an absent peer is refused before
 * any vCPU starts. Slot order on the bus: console, entropy, disks, nets.
 */
import { ImpairedNetBackend } from './impairedNetBackend.js';
import type { ImpairmentStats } from '../net/netchannel.js';
import { MAX_DEVICES } from '../abi.js';
import { HvError } from '../errors.js';
import type { MmioDevice } from '../mmioBus.js';
import type { BlockBackend } from './blockBackend.js';
import { createBlockDevice } from './blockDevice.js';
import { openDisk, parseDiskSpec, type DiskOptions } from './diskOptions.js';
import { createEntropyDevice } from './entropyDevice.js';
import type { NetBackend } from './netBackend.js';
import { createNetDevice } from './netDevice.js';
import { macAddress, netMtu, openNetBackend, parseNetSpec, type NetOptions } from './netOptions.js';
import { PcapWriter } from './pcapWriter.js';
import type { DeviceWiring } from './virtioMmioDevice.js';

/** The device part of MachineOptions. */
export interface MachineDeviceOptions {
  /** Disks, each a `--disk` string ("disk.img,ro") or DiskOptions. */
  readonly disks?: readonly (string | DiskOptions)[];
  /** Network devices, each a `--net` string ("stream:/tmp/passt.sock") or NetOptions. */
  readonly nets?: readonly (string | NetOptions)[];
  /** Attach a virtio-rng entropy device (default true). */
  readonly entropy?: boolean;
  /** Offer VIRTIO_F_EVENT_IDX on the entropy, block and net devices (default true; benchmarks compare). */
  readonly eventIdx?: boolean;
}

/** Builds one device once the machine has memory and an interrupt line for it. */
export type DeviceFactory = (wiring: DeviceWiring) => MmioDevice;

/** Host resources opened for a machine's devices. */
export class PreparedDevices {
  /** One factory per device, in bus order. */
  readonly factories: readonly DeviceFactory[];
  private readonly disks: BlockBackend[];
  private readonly nets: NetBackend[];
  private readonly pcaps: PcapWriter[];

  private constructor(factories: DeviceFactory[], disks: BlockBackend[], nets: NetBackend[], pcaps: PcapWriter[]) {
    this.factories = factories;
    this.disks = disks;
    this.nets = nets;
    this.pcaps = pcaps;
  }

  /**
   * Opens every disk, network backend and capture file `options` asks for.
   * On failure whatever was opened is closed again.
   * @throws HvError BAD_OPTION naming the device that cannot be opened
   */
  static async open(options: MachineDeviceOptions, log: (message: string) => void): Promise<PreparedDevices> {
    const disks = (options.disks ?? []).map((d) => (typeof d === 'string' ? parseDiskSpec(d) : d));
    const nets = (options.nets ?? []).map((n) => (typeof n === 'string' ? parseNetSpec(n) : n));
    const entropy = options.entropy !== false;
    const total = 1 + (entropy ? 1 : 0) + disks.length + nets.length;
    if (total > MAX_DEVICES) throw new HvError('BAD_OPTION', `${total} devices asked for, the machine has ${MAX_DEVICES} slots — use fewer --disk/--net`);
    const opened = new PreparedDevices([], [], [], []);
    try {
      await opened.fill(disks, nets, entropy, options.eventIdx, log);
    } catch (e) {
      await opened.close();
      throw e;
    }
    return opened;
  }

  /** Closes everything opened (when the machine never started; a started machine closes its devices). */
  /** What each network device's impairment shim did (null for a device without one), in device order. */
  impairmentStats(): (Readonly<ImpairmentStats> | null)[] {
    return this.nets.map((b) => (b instanceof ImpairedNetBackend && b.shim !== null ? { ...b.shim.stats } : null));
  }

  async close(): Promise<void> {
    for (const p of this.pcaps) p.close();
    await Promise.allSettled([...this.disks.map((d) => d.close()), ...this.nets.map((n) => n.close())]);
  }

  private async fill(disks: readonly DiskOptions[], nets: readonly NetOptions[], entropy: boolean, eventIdx: boolean | undefined, log: (message: string) => void): Promise<void> {
    const factories = this.factories as DeviceFactory[];
    const ev = eventIdx === undefined ? {} : { eventIdx };
    if (entropy) factories.push((w) => createEntropyDevice(w, ev).device);
    for (const d of disks) {
      const backend = openDisk(d);
      this.disks.push(backend);
      const opts = { ...ev, ...(d.readonly === true ? { readOnly: true } : {}) };
      factories.push((w) => createBlockDevice(backend, w, opts).device);
    }
    for (const [i, n] of nets.entries()) {
      const mac = macAddress(n, i);
      const mtu = netMtu(n);
      const pcap = n.dump === undefined ? null : PcapWriter.open(n.dump, log);
      if (pcap) this.pcaps.push(pcap);
      const backend = await openNetBackend(n, log);
      this.nets.push(backend);
      factories.push((w) => createNetDevice(backend, w, { mac, mtu, pcap, ...ev, ...(n.offloads === undefined ? {} : { offloads: n.offloads }) }).device);
    }
  }
}
