/**
 * The body of one vCPU: a worker thread that builds the guest realm, evaluates
 * the kernel bundle in it and calls the kernel's entry point with the hardware
 * handle. From then on the thread belongs to the guest: it runs guest code,
 * waits in Atomics.wait when the guest idles, and leaves only when the hv
 * terminates it at power-off.
 *
 * Messages to the hv (parentPort): `{ type: 'ready', ... timings }` once the
 * kernel bundle is evaluated, and `{ type: 'crash', cpu, message }` if guest
 * code throws out of the vCPU (a kernel bug: a well-behaved kernel panics
 * through a hypercall instead).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { INTERRUPT_TICK_MS, KERNEL_ENTRY_GLOBAL, KERNEL_INTERRUPT_GLOBAL } from './abi.js';
import { createGuestRealm, runGuestScript } from './guestRealm.js';

/** What the hv passes to each vCPU worker. */
export interface VcpuWorkerData {
  readonly cpu: number;
  readonly memory: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly kernelSource: string;
  readonly kernelFilename: string;
  /** process.hrtime.bigint() at power-on: the zero of the guest's monotonic clock. */
  readonly powerOnNs: bigint;
}

/** Timings of a vCPU's start, milliseconds on this worker's performance clock. */
export interface VcpuReadyMessage {
  readonly type: 'ready';
  readonly cpu: number;
  /** Time from power-on to the worker's first line of code, ms. */
  readonly workerStartMs: number;
  /** Creating the vm context and hardware handle, ms. */
  readonly realmMs: number;
  /** Compiling and evaluating the kernel bundle, ms. */
  readonly kernelEvalMs: number;
}

/** A guest exception escaped the kernel. */
export interface VcpuCrashMessage {
  readonly type: 'crash';
  readonly cpu: number;
  readonly message: string;
}

function describe(e: unknown): string {
  try {
    if (e !== null && typeof e === 'object' && 'stack' in e && typeof e.stack === 'string') return e.stack;
    return String(e);
  } catch {
    return 'unprintable guest exception';
  }
}

function main(): void {
  const data = workerData as VcpuWorkerData;
  const port = parentPort;
  if (!port) throw new Error('vcpuWorker must run as a worker thread');
  const hrtime = process.hrtime;
  const powerOn = data.powerOnNs;
  const startedMs = Number(hrtime.bigint() - powerOn) / 1e6;
  const crash = (e: unknown): void => {
    const msg: VcpuCrashMessage = { type: 'crash', cpu: data.cpu, message: describe(e) };
    port.postMessage(msg);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  const t0 = performance.now();
  const realm = createGuestRealm({
    cpu: data.cpu,
    memory: data.memory,
    control: data.control,
    monotonicNs: () => Number(hrtime.bigint() - powerOn),
    wallClockNs: () => (performance.timeOrigin + performance.now()) * 1e6,
  });
  const t1 = performance.now();
  runGuestScript(realm, data.kernelSource, data.kernelFilename);
  const start = (realm.context as Record<string, unknown>)[KERNEL_ENTRY_GLOBAL];
  const t2 = performance.now();
  const ready: VcpuReadyMessage = {
    type: 'ready',
    cpu: data.cpu,
    workerStartMs: startedMs,
    realmMs: t1 - t0,
    kernelEvalMs: t2 - t1,
  };
  port.postMessage(ready);
  if (typeof start !== 'function') {
    crash(new Error(`the kernel bundle did not define ${KERNEL_ENTRY_GLOBAL}(hw)`));
    return;
  }
  try {
    start(realm.hw);
  } catch (e) {
    crash(e);
    return;
  }
  // The halted-vCPU tick (abi.ts KERNEL_INTERRUPT_GLOBAL). It also keeps the
  // worker alive: a guest whose JavaScript went idle is halted, not finished.
  const context = realm.context as Record<string, unknown>;
  setInterval(() => {
    const entry = context[KERNEL_INTERRUPT_GLOBAL];
    if (typeof entry !== 'function') return;
    try {
      (entry as () => void)();
    } catch (e) {
      crash(e);
    }
  }, INTERRUPT_TICK_MS);
}

main();
