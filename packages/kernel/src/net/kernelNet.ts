/**
 * The kernel's network: one netchannel stack per machine on vCPU 0, over the
 * virtio-net devices the probe found (the driver's NetDevice is shaped as
 * netchannel's Link), configured by DHCP, with the loopback interface beside
 * them. Programs reach it through `net()` in the kernel API and use its
 * BSD-style sockets; a stack lives in one vCPU's realm, so sockets are used
 * from threads on vCPU 0.
 *
 * Zero-copy receive: when the caller gives `packetMemory` (a region of guest
 * memory), the stack's mbuf pool lives there and each device that accepts it
 * (setMbufReceiver) receives straight into the stack's mbufs; otherwise the
 * pool is a private ArrayBuffer and frames are copied in from the drivers'
 * buffers. Transmit checksum offload needs nothing here: the device is the
 * stack's Link, and its txChecksumOffload says whether it fills checksums.
 *
 * Timers and the clock come from the caller (the scheduler's), so this file
 * does not know how the kernel sleeps. The netchannel module itself is the
 * image's (linked at run time from the module table, like a program's
 * imports), so a kernel built without it carries none of it.
 */
import type { Clock, DhcpClient, DhcpLease, Entropy, NetInterface, NetStack, TimerService } from '@osv-ts/netchannel';
import type { NetDevice } from '../drivers/netDevice.js';

/** The netchannel module namespace as the image carries it. */
export type NetchannelModule = typeof import('@osv-ts/netchannel');

/** What the network needs from the rest of the kernel. */
export interface KernelNetDeps {
  /** The netchannel module of this image. */
  readonly netchannel: NetchannelModule;
  /** Monotonic milliseconds. */
  readonly clock: Clock;
  /** One-shot timers on that clock, fired from a kernel thread (never re-entrantly). */
  readonly timers: TimerService;
  /** Randomness for sequence numbers and ports (the kernel's ChaCha20, seeded by virtio-rng). */
  readonly entropy: Entropy;
  /**
   * Guest memory for the stack's packet pool (mbufs and socket buffers), so
   * devices can receive straight into mbufs; omitted: a private ArrayBuffer
   * (frames are copied).
   */
  readonly packetMemory?: { readonly memory: SharedArrayBuffer; readonly byteOffset: number; readonly byteLength: number };
}

/** An interface and how it got its address. */
export interface KernelNetInterface {
  readonly device: NetDevice;
  readonly iface: NetInterface;
  readonly dhcp: DhcpClient;
  /** The DHCP lease once bound, else null. */
  lease: DhcpLease | null;
  /** Whether the device receives straight into the stack's mbufs. */
  readonly zeroCopy: boolean;
}

/** The machine's network. */
export interface KernelNet {
  readonly stack: NetStack;
  readonly interfaces: readonly KernelNetInterface[];
  /** Resolves when every interface with a link has a DHCP lease (or `timeoutMs` passed); returns those that got one. */
  configured(timeoutMs: number): Promise<KernelNetInterface[]>;
}

/** Builds the stack over `devices` and starts DHCP on each. */
export function startNetworking(devices: readonly NetDevice[], deps: KernelNetDeps): KernelNet {
  const nc = deps.netchannel;
  const stack = new nc.NetStack({
    clock: deps.clock,
    timers: deps.timers,
    entropy: deps.entropy,
    ...(deps.packetMemory ? { memory: deps.packetMemory } : {}),
  });
  const interfaces: KernelNetInterface[] = devices.map((device) => {
    const iface = stack.addInterface(device);
    const zeroCopy = device.setMbufReceiver({ pool: stack.pool, mbufBytes: nc.MBUF_SIZE, inputMbuf: (m) => iface.inputMbuf(m) });
    return { device, iface, dhcp: new nc.DhcpClient(stack, iface), lease: null, zeroCopy };
  });
  const started = interfaces.map((k) =>
    k.device.linkUp
      ? k.dhcp.start().then((lease) => {
          k.lease = lease;
          return k;
        })
      : null,
  );
  return {
    stack,
    interfaces,
    configured: async (timeoutMs) => {
      const pending = started.filter((p): p is Promise<KernelNetInterface> => p !== null);
      const timeout = new Promise<null>((resolve) => deps.timers.setTimer(deps.clock.now() + timeoutMs, () => resolve(null)));
      const got = await Promise.all(pending.map((p) => Promise.race([p, timeout])));
      return got.filter((k): k is KernelNetInterface => k !== null);
    },
  };
}
