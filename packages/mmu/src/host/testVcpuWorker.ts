/// <reference types="node" />
/**
 * A second vCPU for tests: a worker thread that attaches to the same guest
 * memory as vCPU 1 and runs commands the test thread (vCPU 0) posts. It waits
 * in Atomics.wait on the command word and answers TLB shootdowns while idle,
 * as a vCPU's idle loop does; its shootdown IPI to vCPU 0 is a notify on the
 * word the test thread waits on. Host-only (worker_threads).
 */
import { workerData, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Mmu } from '../mmu.js';
import { InMemoryPageProvider, type InMemoryFile } from '../inMemoryPageProvider.js';
import { runDiffOp, type DiffOp } from '../internal/differentialOps.js';
import { runVcpuCommand, type VcpuCommand } from '../internal/vcpuCommands.js';

import { CTL } from './testVcpuControl.js';

interface Data {
  memory: SharedArrayBuffer;
  ctl: Int32Array;
  stateAddress: number;
  files: Record<number, InMemoryFile>;
  commands: MessagePort;
  results: MessagePort;
  cpu: number;
}

const d = workerData as Data;
const ctl = d.ctl;
const mmu = Mmu.attach({
  memory: d.memory,
  cpu: d.cpu,
  stateAddress: d.stateAddress,
  files: InMemoryPageProvider.fromDescription(d.memory, d.files),
  ipi: { sendTlbShootdown: () => Atomics.notify(ctl, CTL.DONE) },
});
Atomics.store(ctl, CTL.READY, 1);
Atomics.notify(ctl, CTL.READY);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, CTL.COMMAND, seen, 5);
  mmu.serviceTlbShootdown();
  mmu.reclaimer.step(); // the reclaimer thread's work, done in the idle loop here
  if (Atomics.load(ctl, CTL.STOP) !== 0) break;
  const cmd = Atomics.load(ctl, CTL.COMMAND);
  if (cmd === seen) continue;
  seen = cmd;
  const msg = receiveMessageOnPort(d.commands)?.message as DiffOp | VcpuCommand;
  let out: unknown;
  try {
    out = 'k' in msg ? runDiffOp(mmu, msg) : runVcpuCommand(mmu, msg);
  } catch (e) {
    out = { crash: String((e as Error)?.stack ?? e) };
  }
  d.results.postMessage(out);
  Atomics.store(ctl, CTL.DONE, seen);
  Atomics.notify(ctl, CTL.DONE);
}
mmu.detach();
