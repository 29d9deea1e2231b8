/**
 * `net()` for programs: the machine's network, started on first use on
 * vCPU 0 (where the network devices' drivers live), over the netchannel
 * module the image carries.
 */
import { deviceRegistry } from '../drivers/deviceRegistry.js';
import { KernelError } from '../errors.js';
import { kernel } from '../kernelState.js';
import { startNetworking, type KernelNet, type NetchannelModule } from './kernelNet.js';
import { msClock, schedTimers } from './schedTimers.js';
import { settleWakes, tracked } from './trackedSockets.js';

const NETCHANNEL = '@osv-ts/netchannel';
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
  });
  network = {
    stack: tracked(raw.stack, track, nc),
    interfaces: raw.interfaces.map((i) => ({ ...i, dhcp: tracked(i.dhcp, track, nc) })),
    configured: (ms) => track(raw.configured(ms)),
  };
  return network;
}
