/**
 * The guest's realm: a `vm` context whose globals are only the ECMAScript
 * built-ins, and the hardware handle built inside it.
 *
 * Isolation rests on three rules, each closing a known way out of a context:
 *  1. No object from the host realm is reachable from guest code. Such an
 *     object's `constructor.constructor` is the host's Function, which compiles
 *     code with the host's globals (`process`, `require`). So the hardware
 *     handle is created by code evaluated inside the context, and the two
 *     shared buffers get the context's SharedArrayBuffer.prototype.
 *  2. Host functions the guest needs (the clocks) are wrapped by context
 *     functions that close over them; the wrapper returns only primitives and
 *     the host function never throws or calls back into the guest.
 *  3. Scripts are compiled without an `importModuleDynamically` hook, so
 *     `import()` from guest code rejects instead of loading host modules.
 */
import vm from 'node:vm';
import type { GuestHardware } from './abi.js';

/** Host capabilities handed to a vCPU's guest realm. */
export interface GuestRealmInputs {
  readonly cpu: number;
  readonly memory: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  /** Monotonic nanoseconds since power-on. Must not throw. */
  readonly monotonicNs: () => number;
  /** Wall-clock nanoseconds since the Unix epoch. Must not throw. */
  readonly wallClockNs: () => number;
}

/** A guest realm and the hardware handle living in it. */
export interface GuestRealm {
  readonly context: vm.Context;
  readonly hw: GuestHardware;
}

const MAKE_HW = `(function makeHardware(cpu, memory, control, hostMonotonic, hostWall) {
  'use strict';
  return Object.freeze({
    cpu,
    memory,
    control,
    monotonicNs() { return +hostMonotonic(); },
    wallClockNs() { return +hostWall(); },
  });
})`;

/**
 * Creates the context for one vCPU. The context is named after the vCPU so
 * stack traces and the inspector say which CPU ran the code.
 */
export function createGuestRealm(inputs: GuestRealmInputs): GuestRealm {
  const context = vm.createContext(Object.create(null) as object, {
    name: `osv-ts vcpu${inputs.cpu}`,
    codeGeneration: { strings: true, wasm: true },
  });
  const guestSab = vm.runInContext('SharedArrayBuffer.prototype', context) as object;
  Object.setPrototypeOf(inputs.memory, guestSab);
  Object.setPrototypeOf(inputs.control, guestSab);
  const makeHw = vm.runInContext(MAKE_HW, context) as (
    cpu: number,
    memory: SharedArrayBuffer,
    control: SharedArrayBuffer,
    mono: () => number,
    wall: () => number,
  ) => GuestHardware;
  const hw = makeHw(inputs.cpu, inputs.memory, inputs.control, inputs.monotonicNs, inputs.wallClockNs);
  return { context, hw };
}

/** Compiles and runs a script in the guest realm (no dynamic import hook: import() rejects). */
export function runGuestScript(realm: GuestRealm, source: string, filename: string): unknown {
  const script = new vm.Script(source, { filename });
  return script.runInContext(realm.context);
}
