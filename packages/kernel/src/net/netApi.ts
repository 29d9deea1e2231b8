/**
 * `net()` for programs: the machine's network, started on first use on
 * vCPU 0 (where the network devices' drivers live), over the netchannel
 * module the image carries. Its packet pool is physically contiguous guest
 * memory from the mmu's page allocator, so the drivers receive into mbufs.
 */
import type { Mmu } from '@osv-ts/mmu';
import { deviceRegistry } from '../drivers/deviceRegistry.js';
import { KernelError } from '../errors.js';
import { kernel } from '../kernelState.js';
import { startNetworking, type KernelNet, type NetchannelModule } from './kernelNet.js';
import { msClock, schedTimers } from './schedTimers.js';
import { settleWakes, tracked } from './trackedSockets.js';

const NETCHANNEL = '@osv-ts/netchannel';
/** Packet memory: an eighth of RAM, at most 32 MiB (netchannel's own default), at least 4 MiB. */
const PACKET_MEMORY_MAX_ORDER = 13; // 2^13 pages of 4 KiB
const PACKET_MEMORY_MIN_ORDER = 10;
const PAGE_BYTES = 4096;
let network: KernelNet | undefined;

/**
 * The network (a netchannel NetStack over every virtio-net device, DHCP on
 * each, and loopback), started on the first call. Its sockets' promises park
 * the calling thread in the scheduler.
 * @throws KernelError ENOSYS when the image carries no netchannel module;
 *   EINVAL when called from another vCPU than 0
 */
export function kernelNet(): KernelNet {
  const k = kernel();
  if (network) return network;
  const nc = k.modules[NETCHANNEL] as NetchannelModule | undefined;
  if (!nc) throw new KernelError('ENOSYS', `this image carries no network stack — build it with the netchannel module (osv-build --modules kernel,netchannel)`);
  if (k.cpu.id !== 0) throw new KernelError('EINVAL', `the network lives on vCPU 0 (called on vCPU ${k.cpu.id}): use sockets from threads there`);
  const reg = deviceRegistry();
  const io = reg.io;
  const track = settleWakes(k.sched, <T>(p: Promise<T>): Promise<T> => io.track(p));
  const raw = startNetworking(reg.nets, {
    netchannel: nc,
    clock: msClock(() => k.cpu.hw.monotonicNs()),
    timers: schedTimers(k.sched),
    entropy: { random32: () => reg.random.random32() },
    ...packetMemory(k.cpu.hw.memory, k.mmu, k.boot.memoryBytes),
  });
  network = {
    stack: tracked(raw.stack, track, nc),
    interfaces: raw.interfaces.map((i) => ({ ...i, dhcp: tracked(i.dhcp, track, nc) })),
    configured: (ms) => track(raw.configured(ms)),
  };
  return network;
}

/**
 * A physically contiguous region for the stack's packet pool, the largest
 * the page allocator gives between 4 and 32 MiB (and at most an eighth of
 * RAM); none (frames are then copied) when even 4 MiB is not to be had.
 */
function packetMemory(memory: SharedArrayBuffer, mmu: Mmu, ramBytes: number): { packetMemory?: { memory: SharedArrayBuffer; byteOffset: number; byteLength: number } } {
  let order = PACKET_MEMORY_MAX_ORDER;
  while (order > PACKET_MEMORY_MIN_ORDER && PAGE_BYTES * 2 ** order > ramBytes / 8) order--;
  for (; order >= PACKET_MEMORY_MIN_ORDER; order--) {
    const phys = mmu.pages.allocContiguous(order, 'other');
    if (phys >= 0) return { packetMemory: { memory, byteOffset: phys, byteLength: PAGE_BYTES * 2 ** order } };
  }
  return {};
}
