/// <reference types="node" />
/**
 * Test harness for a second vCPU: starts testVcpuWorker.ts (through tsx's
 * loader: a Node 20 worker cannot load TypeScript by itself) on the same guest
 * memory and runs commands on it synchronously, answering its TLB shootdowns
 * while the calling thread (vCPU 0) waits. Host-only.
 */
import { createRequire } from 'node:module';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { Mmu } from '../mmu.js';
import type { InMemoryFile } from '../inMemoryPageProvider.js';
import type { DiffOp, DiffOutcome } from '../internal/differentialOps.js';
import type { VcpuCommand } from '../internal/vcpuCommands.js';
import { CTL } from './testVcpuControl.js';

/** A vCPU running in a worker thread. */
export class TestVcpu {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(64));
  private seq = 0;
  private readonly worker: Worker;
  private readonly commands: MessagePort;
  private readonly results: MessagePort;

  private constructor(memory: SharedArrayBuffer, stateAddress: number, files: Record<number, InMemoryFile>, cpu: number) {
    const c = new MessageChannel();
    const r = new MessageChannel();
    this.commands = c.port1;
    this.results = r.port2;
    // `execArgv: ['--import', 'tsx']` is ignored under vitest's pool; registering
    // tsx's ESM hooks inside the worker before importing the entry works everywhere.
    const tsxApi = createRequire(import.meta.url).resolve('tsx/esm/api');
    const entry = new URL('./testVcpuWorker.ts', import.meta.url).href;
    const boot = `require(${JSON.stringify(tsxApi)}).register(); import(${JSON.stringify(entry)});`;
    this.worker = new Worker(boot, {
      eval: true,
      workerData: { memory, ctl: this.ctl, stateAddress, files, commands: c.port2, results: r.port1, cpu },
      transferList: [c.port2, r.port1],
    });
  }

  /** Starts vCPU `cpu` attached to the machine of `boot`; resolves once it is attached. */
  static async start(boot: Mmu, memory: SharedArrayBuffer, files: Record<number, InMemoryFile>, cpu = 1): Promise<TestVcpu> {
    const v = new TestVcpu(memory, boot.stateAddress, files, cpu);
    let failed: unknown = null;
    v.worker.once('error', (e) => (failed = e));
    while (Atomics.load(v.ctl, CTL.READY) === 0) {
      if (failed !== null) throw failed;
      await new Promise((res) => setTimeout(res, 5));
    }
    return v;
  }

  /** Posts a command without waiting (the caller runs its own work, then calls wait). */
  post(msg: DiffOp | VcpuCommand): void {
    this.commands.postMessage(msg);
    this.seq++;
    Atomics.store(this.ctl, CTL.COMMAND, this.seq);
    Atomics.notify(this.ctl, CTL.COMMAND);
  }

  /** Waits for the posted command's result, answering shootdowns for `self` meanwhile. */
  wait(self: Mmu): unknown {
    for (;;) {
      const done = Atomics.load(this.ctl, CTL.DONE);
      if (done === this.seq) break;
      self.serviceTlbShootdown();
      Atomics.wait(this.ctl, CTL.DONE, done, 5);
    }
    const out = receiveMessageOnPort(this.results)?.message as { crash?: string } | undefined;
    if (out?.crash !== undefined) throw new Error(`vCPU worker crashed: ${out.crash}`);
    return out;
  }

  /** Runs a differential op on this vCPU. */
  run(self: Mmu, op: DiffOp): DiffOutcome {
    this.post(op);
    return this.wait(self) as DiffOutcome;
  }

  /** The IPI the other vCPU's Mmu sends to this one. */
  ipi(): { sendTlbShootdown(cpu: number): void } {
    return { sendTlbShootdown: () => Atomics.notify(this.ctl, CTL.COMMAND) };
  }

  /** Stops the worker (it detaches from the machine). */
  async stop(): Promise<void> {
    Atomics.store(this.ctl, CTL.STOP, 1);
    Atomics.notify(this.ctl, CTL.COMMAND);
    await new Promise((res) => this.worker.once('exit', res));
  }
}
