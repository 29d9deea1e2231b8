/**
 * Serves VM exits: each vCPU's exit slot in the control buffer is watched from
 * the hv's event loop with Atomics.waitAsync. A synchronous exit (MMIO read,
 * hypercall) is completed by writing EXIT_VALUE and moving the slot to
 * SLOT_DONE; a posted exit (MMIO write) frees the slot first, then the device acts.
 *
 * Every field of the slot is guest-controlled: addresses and lengths are
 * checked against guest memory before use, unknown kinds and hypercalls get
 * -ENOSYS, and nothing here throws back into the event loop.
 */
import {
  EXIT_HYPERCALL,
  EXIT_MMIO_READ,
  EXIT_MMIO_WRITE,
  HC_CONSOLE_WRITE,
  HC_PANIC,
  HC_POWER_OFF,
  PANIC_EXIT_CODE,
  SLOT_DONE,
  SLOT_FREE,
  SLOT_POSTED,
  SLOT_SYNC,
} from './abi.js';
import type { ControlBuffer, CpuWords } from './control.js';
import type { MmioBus } from './mmioBus.js';

const ENOSYS = 38;
const EFAULT = 14;

/** What the machine does for the hypercalls. */
export interface HypercallHandlers {
  /** The guest powered off with `code`. The vCPU that asked never resumes. */
  powerOff(cpu: number, code: number): void;
  /** Early console output (bytes copied out of guest memory). */
  consoleWrite(bytes: Uint8Array): void;
  /** The guest kernel panicked; `message` is its text. */
  panic(cpu: number, message: string, code: number): void;
}

/** Counters for --trace and the benchmarks. */
export interface ExitStats {
  mmioReads: number;
  mmioWrites: number;
  hypercalls: number;
}

/** Watches every vCPU's exit slot until stop(). */
export class ExitServer {
  readonly stats: ExitStats = { mmioReads: 0, mmioWrites: 0, hypercalls: 0 };
  private running = false;
  private readonly i32: Int32Array;

  constructor(
    private readonly control: ControlBuffer,
    private readonly memory: Uint8Array,
    private readonly bus: MmioBus,
    private readonly hc: HypercallHandlers,
  ) {
    this.i32 = control.i32;
  }

  /** Starts serving every vCPU. */
  start(): void {
    this.running = true;
    for (let cpu = 0; cpu < this.control.cpus.length; cpu++) void this.serve(cpu);
  }

  /** Stops serving; pending waits resolve at the next notify and end. */
  stop(): void {
    this.running = false;
    for (const w of this.control.cpus) Atomics.notify(this.i32, w.state);
  }

  private async serve(cpu: number): Promise<void> {
    const w = this.control.cpu(cpu);
    const i32 = this.i32;
    while (this.running) {
      const state = Atomics.load(i32, w.state);
      if (state === SLOT_SYNC || state === SLOT_POSTED) {
        this.handle(cpu, w, state);
        continue;
      }
      const r = Atomics.waitAsync(i32, w.state, state);
      if (r.async) await r.value;
    }
  }

  private handle(cpu: number, w: CpuWords, state: number): void {
    const i32 = this.i32;
    const kind = i32[w.kind];
    let result = 0;
    let complete = true;
    if (kind === EXIT_MMIO_READ) {
      this.stats.mmioReads++;
      result = this.bus.read(this.address(w), i32[w.size] ?? 0) | 0;
    } else if (kind === EXIT_MMIO_WRITE) {
      this.stats.mmioWrites++;
      const addr = this.address(w);
      const size = i32[w.size] ?? 0;
      const value = (i32[w.value] ?? 0) >>> 0;
      if (state === SLOT_POSTED) {
        // A posted write frees the vCPU before the device acts, as on real
        // hardware: a QueueNotify's device work (a whole transmit burst, the
        // backend's socket writes) would otherwise hold the vCPU's next exit.
        // Order is kept: this thread handles the vCPU's next exit only after
        // this write, so a read that follows still sees its effect.
        Atomics.store(i32, w.state, SLOT_FREE);
        Atomics.notify(i32, w.state);
        this.bus.write(addr, size, value);
        return;
      }
      this.bus.write(addr, size, value);
    } else if (kind === EXIT_HYPERCALL) {
      this.stats.hypercalls++;
      const r = this.hypercall(cpu, w);
      if (r === null) complete = false;
      else result = r;
    } else {
      result = -ENOSYS;
    }
    // Power-off and panic leave the slot taken: that vCPU never runs again.
    if (!complete) return;
    if (state === SLOT_SYNC) {
      i32[w.value] = result;
      Atomics.store(i32, w.state, SLOT_DONE);
    } else {
      Atomics.store(i32, w.state, SLOT_FREE);
    }
    Atomics.notify(i32, w.state);
  }

  private address(w: CpuWords): number {
    return ((this.i32[w.addrLo] ?? 0) >>> 0) + ((this.i32[w.addrHi] ?? 0) >>> 0) * 2 ** 32;
  }

  /** Runs a hypercall; null means the vCPU must not resume (power-off, panic). */
  private hypercall(cpu: number, w: CpuWords): number | null {
    const i32 = this.i32;
    const nr = i32[w.addrLo];
    const a0 = (i32[w.args[0]] ?? 0) >>> 0;
    const a1 = (i32[w.args[1]] ?? 0) >>> 0;
    const a2 = i32[w.args[2]] ?? 0;
    switch (nr) {
      case HC_POWER_OFF:
        this.hc.powerOff(cpu, a0 & 0xff);
        return null;
      case HC_CONSOLE_WRITE: {
        const bytes = this.guestBytes(a0, a1);
        if (!bytes) return -EFAULT;
        this.hc.consoleWrite(bytes.slice());
        return a1;
      }
      case HC_PANIC: {
        const bytes = this.guestBytes(a0, a1);
        const text = bytes ? Buffer.from(bytes).toString('utf8') : `(panic message at 0x${a0.toString(16)} is outside guest memory)`;
        this.hc.panic(cpu, text, a2 > 0 && a2 < 256 ? a2 : PANIC_EXIT_CODE);
        return null;
      }
      default:
        return -ENOSYS;
    }
  }

  private guestBytes(addr: number, len: number): Uint8Array | null {
    if (addr + len > this.memory.length || len > 1 << 20) return null;
    return this.memory.subarray(addr, addr + len);
  }
}
