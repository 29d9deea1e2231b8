/**
 * Running a program's exported functions on any vCPU. A started thread
 * cannot leave its isolate, and each vCPU is one, so a thread meant for
 * another vCPU is an entry thread (@osv-ts/sched `defineEntry` /
 * `spawnEntry`): every vCPU loads the program and registers entry
 * ENTRY_PROGRAM_EXPORT, whose two integer arguments are the index of an
 * exported function in `programExportNames` (the same on every vCPU: one
 * bundle) and the argument it is called with.
 */
import type { Scheduler } from '@osv-ts/sched';
import { KernelError } from '../errors.js';
import type { LoadedProgram } from '../loader/programLoader.js';

/** The entry id of "call the program's exported function number arg0 with arg1". */
export const ENTRY_PROGRAM_EXPORT = 1;

let names: readonly string[] = [];

/** The program's exported function names, sorted (arg0 of ENTRY_PROGRAM_EXPORT indexes this). */
export function programExportNames(): readonly string[] {
  return names;
}

/** Registers ENTRY_PROGRAM_EXPORT on this vCPU for `program` (null: none loaded; such threads throw ENOEXEC). */
export function defineProgramEntries(sched: Scheduler, program: LoadedProgram | null): void {
  const exp = program?.exports ?? {};
  names = Object.keys(exp)
    .filter((k) => typeof exp[k] === 'function')
    .sort();
  const fns = names.map((k) => exp[k] as (arg: number) => unknown);
  sched.defineEntry(ENTRY_PROGRAM_EXPORT, (index, arg) => {
    const fn = fns[index];
    if (!fn) throw new KernelError('ENOEXEC', `this vCPU's program has no exported function number ${index}`);
    return fn(arg);
  });
}
