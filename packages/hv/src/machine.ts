/**
 * A virtual machine: guest memory, the control buffer, the MMIO bus and its
 * devices, one worker thread per vCPU, and the exit server that ties them
 * together. `Machine.boot()` powers it on; `wait()` resolves when the guest
 * powers off (or panics, crashes or is killed).
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { BOOT_TRACE, IRQ_FIRST_DEVICE, MAX_CPUS, MIN_MEMORY, irqStatusWord, type BootTracePoint } from './abi.js';
import { writeBootLayout } from './bootParams.js';
import { ControlBuffer } from './control.js';
import { ConsoleDevice } from './devices/consoleDevice.js';
import { PreparedDevices, type MachineDeviceOptions } from './devices/machineDevices.js';
import { VcpuProfiler } from './vcpuProfiler.js';
import type { SharedWord } from '@osv-ts/virtio/device';
import type { ImpairmentStats } from './net/netchannel.js';
import { HvError } from './errors.js';
import { ExitServer } from './exitServer.js';
import { readImage, type ParsedImage } from './image.js';
import { MmioBus, type MmioDevice } from './mmioBus.js';
import { parseSize } from './size.js';
import type { VcpuCrashMessage, VcpuReadyMessage, VcpuWorkerData } from './vcpuWorker.js';

/**
 * How to build and boot a machine. The device options (`disks`, `nets`,
 * `entropy`, `eventIdx`) are MachineDeviceOptions.
 */
export interface MachineOptions extends MachineDeviceOptions {
  /** Path of an image file, or the image's bytes. */
  readonly image: string | Uint8Array;
  /** Name used in messages when `image` is bytes. */
  readonly imageName?: string;
  /** Guest memory: bytes or a size like "256M". Default: the image manifest's, else 256 MiB. */
  readonly memory?: number | string;
  /** vCPUs, 1..64. Default: the image manifest's, else 1. */
  readonly cpus?: number;
  /** Replaces the image's default command line. */
  readonly cmdline?: string;
  /** Where console output also goes (osv-run passes process.stdout). */
  readonly stdout?: Writable;
  /** Console input (osv-run passes process.stdin). */
  readonly stdin?: Readable;
  /** Called with hv diagnostics (device errors, unclaimed MMIO). Default: ignored. */
  readonly log?: (message: string) => void;
  /** Write a CPU profile of each vCPU (`vcpuN.cpuprofile`) to this directory at power-off (created if missing). */
  readonly cpuProfile?: string;
}

/** How a machine stopped. */
export interface MachineExit {
  /** The exit code: the app's, 70 for a kernel panic, 1 for a crash, 137 if killed. */
  readonly code: number;
  readonly reason: 'poweroff' | 'panic' | 'crash' | 'killed';
  /** The panic or crash text, when there is one. */
  readonly message?: string;
}

/** Boot timeline, ms since power-on (undefined: not reached). */
export interface BootTimeline {
  /** Reading and verifying the image, before power-on. */
  readonly imageLoadMs: number;
  /** vCPU 0's worker thread running its first line. */
  readonly workerStartMs?: number;
  /** Creating the guest realm on vCPU 0. */
  readonly realmMs?: number;
  /** Compiling and evaluating the kernel bundle on vCPU 0. */
  readonly kernelEvalMs?: number;
  /** The kernel's own trace points (abi.ts BOOT_TRACE). */
  readonly kernel: Partial<Record<BootTracePoint, number>>;
  /** First console output seen by the hv. */
  readonly firstOutputMs?: number;
}

const DEFAULT_MEMORY = 256 * 2 ** 20;
const TIME_SLICE_MS = 10;
const EXIT_CRASH = 1;
const EXIT_KILLED = 137;

function workerUrl(): URL {
  // From dist/ the worker sits beside this file; from src/ (tests reading
  // sources) it must come from dist/, since a worker cannot load TypeScript.
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../dist/vcpuWorker.js', here) : new URL('./vcpuWorker.js', here);
}

/** A booted virtual machine. */
export class Machine {
  /** Everything the guest writes to its console. */
  readonly console: Readable;
  /** The verified image the machine booted. */
  readonly image: ParsedImage;
  /** Guest memory size, bytes. */
  readonly memoryBytes: number;
  /** Number of vCPUs. */
  readonly cpus: number;
  /** The command line the guest was given. */
  readonly cmdline: string;

  private readonly control: ControlBuffer;
  private readonly exits: ExitServer;
  private readonly bus: MmioBus;
  private readonly workers: Worker[] = [];
  private readonly consoleOut = new PassThrough();
  private readonly ready: (VcpuReadyMessage | undefined)[] = [];
  private readonly imageLoadMs: number;
  private readonly prepared: PreparedDevices;
  private readonly profiler: VcpuProfiler | null;
  private profiles: string[] = [];
  private readonly powerOnNs: bigint;
  private readonly tick: NodeJS.Timeout;
  private firstOutputNs: bigint | undefined;
  private exit: MachineExit | undefined;
  private readonly exited: Promise<MachineExit>;
  private resolveExit!: (e: MachineExit) => void;
  private stopping: Promise<void> | undefined;
  private readonly log: (message: string) => void;

  /**
   * Reads and verifies the image, opens the disks and network backends,
   * lays out guest memory, attaches the devices and starts the vCPUs.
   * Resolves as soon as the vCPUs are spawned; use `wait()` for the guest's
   * exit. Throws HvError: BAD_IMAGE (with the ImageError as cause) for an
   * image that fails verification, BAD_OPTION for bad memory, CPU,
   * command-line or device values (a disk that cannot be opened, a stream
   * peer that does not answer).
   */
  static async boot(options: MachineOptions): Promise<Machine> {
    const t0 = process.hrtime.bigint();
    const name = typeof options.image === 'string' ? basename(options.image) : (options.imageName ?? 'image');
    let bytes: Uint8Array;
    try {
      // A plain Uint8Array view: Buffer's slice() shares memory where Uint8Array's copies.
      const raw = typeof options.image === 'string' ? await readFile(options.image) : options.image;
      bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    } catch (e) {
      throw new HvError('BAD_IMAGE', `image ${name}: cannot read it (${(e as Error).message})`, { cause: e });
    }
    let image: ParsedImage;
    try {
      image = readImage(bytes, name);
    } catch (e) {
      throw new HvError('BAD_IMAGE', (e as Error).message, { cause: e });
    }
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    // The default network, as QEMU's: an image that asks for a network device
    // and is given no --net gets one on the built-in user backend.
    const wantsNet = image.manifest.requires.devices.includes('net');
    const withNet = options.nets === undefined && wantsNet ? { ...options, nets: ['user'] } : options;
    const devices = await PreparedDevices.open(withNet, options.log ?? (() => {}));
    try {
      return new Machine(options, image, loadMs, devices);
    } catch (e) {
      await devices.close();
      throw e;
    }
  }

  private constructor(options: MachineOptions, image: ParsedImage, imageLoadMs: number, prepared: PreparedDevices) {
    this.prepared = prepared;
    this.image = image;
    this.imageLoadMs = imageLoadMs;
    this.log = options.log ?? (() => {});
    const cpus = options.cpus ?? (image.manifest.requires.cpus > 0 ? image.manifest.requires.cpus : 1);
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > MAX_CPUS) {
      throw new HvError('BAD_OPTION', `--cpus: ${cpus} is not a whole number from 1 to ${MAX_CPUS}`);
    }
    this.cpus = cpus;
    const manifestMemory = image.manifest.requires.memory;
    this.memoryBytes =
      options.memory !== undefined ? parseSize(options.memory, '--memory') : manifestMemory > 0 ? manifestMemory : DEFAULT_MEMORY;
    if (this.memoryBytes < MIN_MEMORY) {
      throw new HvError('BAD_OPTION', `--memory: ${this.memoryBytes} bytes is below the ${MIN_MEMORY / 2 ** 20} MiB minimum`);
    }
    if (this.memoryBytes % 4096 !== 0) {
      throw new HvError('BAD_OPTION', `--memory: ${this.memoryBytes} bytes is not a whole number of 4 KiB pages`);
    }
    this.cmdline = options.cmdline ?? image.cmdline;
    this.console = this.consoleOut;
    if (options.stdout) this.consoleOut.pipe(options.stdout, { end: false });
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));

    let memory: SharedArrayBuffer;
    try {
      memory = new SharedArrayBuffer(this.memoryBytes);
    } catch (e) {
      throw new HvError('BAD_OPTION', `--memory: cannot allocate ${this.memoryBytes} bytes of guest memory`, { cause: e });
    }
    this.control = new ControlBuffer(cpus);
    this.bus = new MmioBus();
    this.bus.onUnclaimed = (addr, write) =>
      this.log(`unclaimed MMIO ${write ? 'write' : 'read'} at 0x${addr.toString(16)}`);

    const devices: { device: MmioDevice; irq: number }[] = [];
    const attach = (make: (raise: () => void, irq: number) => MmioDevice): void => {
      const irq = IRQ_FIRST_DEVICE + devices.length;
      const device = make(() => this.control.raiseIrq(0, irq), irq);
      devices.push({ device, irq });
    };
    const statusWord = (irq: number): SharedWord => ({ view: this.control.i32, index: irqStatusWord(irq) });
    attach((raise, irq) => new ConsoleDevice(memory, raise, (bytes) => this.output(bytes), options.stdin, this.log, statusWord(irq)));
    for (const make of prepared.factories) {
      attach((raise, irq) => make({ memory, raiseIrq: raise, interruptStatus: statusWord(irq), log: this.log }));
    }
    const bootDevices = devices.map(({ device, irq }) => ({ mmioBase: this.bus.attach(device), irq, deviceId: device.deviceId }));

    writeBootLayout(memory, {
      memoryBytes: this.memoryBytes,
      cpuCount: cpus,
      cmdline: Buffer.from(this.cmdline, 'utf8'),
      rootfs: image.rootfs,
      devices: bootDevices,
      bootTimeNs: BigInt(Date.now()) * 1_000_000n,
    });

    this.exits = new ExitServer(this.control, new Uint8Array(memory), this.bus, {
      powerOff: (_cpu, code) => this.finish({ code, reason: 'poweroff' }),
      consoleWrite: (bytes) => this.output(bytes),
      panic: (cpu, message, code) => {
        this.output(Buffer.from(`\nkernel panic on vCPU ${cpu}: ${message}\n`));
        this.finish({ code, reason: 'panic', message });
      },
    });
    this.exits.start();

    if (options.cpuProfile !== undefined) mkdirSync(options.cpuProfile, { recursive: true });
    this.profiler = options.cpuProfile === undefined ? null : new VcpuProfiler(options.cpuProfile);
    this.powerOnNs = process.hrtime.bigint();
    const kernelSource = image.kernelSource;
    for (let cpu = 0; cpu < cpus; cpu++) {
      const data: VcpuWorkerData = {
        cpu,
        memory,
        control: this.control.sab,
        kernelSource,
        kernelFilename: `osv-ts-kernel:${image.manifest.app.name}`,
        powerOnNs: this.powerOnNs,
      };
      // execArgv: [] — the vCPU must not inherit flags such as --conditions from a test runner.
      const worker = new Worker(workerUrl(), { workerData: data, name: `vcpu${cpu}`, execArgv: [] });
      worker.on('message', (m: VcpuReadyMessage | VcpuCrashMessage) => {
        if (m.type === 'ready') this.ready[m.cpu] = m;
        else this.crash(`vCPU ${m.cpu}: ${m.message}`);
      });
      worker.on('error', (e) => this.crash(`vCPU ${cpu}: ${e.stack ?? String(e)}`));
      worker.on('exit', (code) => {
        if (!this.exit) this.crash(`vCPU ${cpu}: worker exited with code ${code} before the guest powered off`);
      });
      this.workers.push(worker);
    }
    this.tick = setInterval(() => this.control.tickPreempt(), TIME_SLICE_MS);
    this.tick.unref();
  }

  /** Resolves when the guest has stopped and every vCPU and device is shut down. */
  async wait(): Promise<MachineExit> {
    const exit = await this.exited;
    await this.stopping;
    return exit;
  }

  /** Stops the machine now, whatever the guest is doing (exit code 137). */
  async kill(): Promise<MachineExit> {
    this.finish({ code: EXIT_KILLED, reason: 'killed' });
    return this.wait();
  }

  /** Kills the machine if it still runs; for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }

  /** The boot timeline so far, ms since power-on. */
  timeline(): BootTimeline {
    const kernel: Partial<Record<BootTracePoint, number>> = {};
    for (const [point, slot] of Object.entries(BOOT_TRACE) as [BootTracePoint, number][]) {
      const ns = this.control.bootTrace[slot] ?? 0;
      if (ns > 0) kernel[point] = ns / 1e6;
    }
    const r = this.ready[0];
    return {
      imageLoadMs: this.imageLoadMs,
      ...(r ? { workerStartMs: r.workerStartMs, realmMs: r.realmMs, kernelEvalMs: r.kernelEvalMs } : {}),
      kernel,
      ...(this.firstOutputNs !== undefined ? { firstOutputMs: Number(this.firstOutputNs - this.powerOnNs) / 1e6 } : {}),
    };
  }

  /** What each network device's impairment shim (`--net ...,loss=...`) did so far; null for a device without one. */
  netImpairmentStats(): (Readonly<ImpairmentStats> | null)[] {
    return this.prepared.impairmentStats();
  }

  /** The CPU profiles written at power-off (`cpuProfile`), once the machine has stopped. */
  cpuProfiles(): readonly string[] {
    return this.profiles;
  }

  /** Exit counters (MMIO reads and writes, hypercalls) so far. */
  exitStats(): Readonly<{ mmioReads: number; mmioWrites: number; hypercalls: number }> {
    return { ...this.exits.stats };
  }

  private output(bytes: Uint8Array): void {
    if (this.firstOutputNs === undefined) this.firstOutputNs = process.hrtime.bigint();
    this.consoleOut.write(bytes);
  }

  private crash(message: string): void {
    if (this.exit) return;
    this.output(Buffer.from(`\nosv-run: the guest crashed: ${message}\n`));
    this.finish({ code: EXIT_CRASH, reason: 'crash', message });
  }

  private finish(exit: MachineExit): void {
    if (this.exit) return;
    this.exit = exit;
    this.control.powerOff(exit.code);
    this.stopping = this.shutdown().then(() => this.resolveExit(exit));
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.tick);
    this.exits.stop();
    if (this.profiler !== null) this.profiles = await this.profiler.stop();
    await Promise.all(this.workers.map((w) => w.terminate().catch(() => 0)));
    for (const d of this.bus.all) {
      try {
        await d.close?.();
      } catch (e) {
        this.log(`closing ${d.kind}: ${(e as Error).message}`);
      }
    }
    // Not awaited: if nobody reads `console`, its buffer never drains.
    this.consoleOut.end();
  }
}
