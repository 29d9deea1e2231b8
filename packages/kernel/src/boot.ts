/**
 * The kernel's entry point, after OSv's loader.cc: every vCPU's realm calls
 * `start(hw, modules)` once the kernel bundle is evaluated. vCPU 0 boots the
 * machine — boot page, early console, secondary vCPUs, devices, root
 * filesystem, the scheduler, the program on the command line — runs the
 * program's main as a scheduler thread, and powers off with its exit code.
 * The other vCPUs wait for their start IPI, attach to the memory and the
 * scheduler, load the program too (so `spawnOn` can run its exported
 * functions there) and run their scheduler loop.
 */
import { KERNEL_INTERRUPT_GLOBAL, PAGE_SIZE, PANIC_STAGING_ADDR, PANIC_STAGING_BYTES, type GuestHardware } from '@osv-ts/hv/abi';
import { readBootInfo } from './arch/bootInfo.js';
import { Cpu } from './arch/cpu.js';
import { awaitStartIpi, startSecondaries } from './arch/smp.js';
import { EarlyConsole } from './console/earlyConsole.js';
import { KernelConsole } from './console/kernelConsole.js';
import { probeDevices } from './drivers/probe.js';
import { KernelError } from './errors.js';
import { RofsVolume } from './fs/rofsVolume.js';
import { Vfs } from './fs/vfs.js';
import { parseCommandLine } from './loader/cmdline.js';
import { exitCodeOf, loadProgram } from './loader/programLoader.js';
import { BootAllocator } from './mm/bootAllocator.js';
import { attachMemory, setupMemory, startReclaimer } from './mm/memory.js';
import { decodeUtf8 } from './fs/utf8.js';
import { setKernelState } from './kernelState.js';
import { attachScheduler, awaitSchedulerArea, consoleStagingAddr, reserveSchedulerArea } from './sched/kernelSched.js';
import type { Scheduler } from '@osv-ts/sched';
import { defineProgramEntries } from './sched/programEntries.js';
import { deviceRegistry } from './drivers/deviceRegistry.js';

/** Exit code when the program is missing or cannot be loaded (as a shell's "command not found"). */
export const EXIT_NO_PROGRAM = 127;
/** Exit code when the program throws, as Node exits on an uncaught exception. */
export const EXIT_UNCAUGHT = 1;

/**
 * Kernel entry point, called on every vCPU by the hv's vCPU worker. `modules`
 * maps package names to the module namespaces this image's kernel bundle
 * carries; programs are linked against them.
 */
export function start(hw: GuestHardware, modules: Readonly<Record<string, object>>): void {
  const cpu = new Cpu(hw);
  if (cpu.id !== 0) {
    secondaryMain(cpu, modules).catch((e: unknown) => panic(cpu, e));
    return;
  }
  cpu.bootTrace('KERNEL_ENTRY');
  bootPrimary(cpu, modules).catch((e: unknown) => panic(cpu, e));
}

/**
 * A secondary vCPU: memory, scheduler, the program's entries, then the
 * scheduler loop (which services this vCPU's interrupts, TLB shootdowns
 * included) until the machine powers off.
 */
async function secondaryMain(cpu: Cpu, modules: Readonly<Record<string, object>>): Promise<void> {
  awaitStartIpi(cpu);
  const mmu = attachMemory(cpu);
  const base = awaitSchedulerArea(cpu);
  const info = readBootInfo(cpu.hw.memory);
  const con = new KernelConsole(new EarlyConsole(cpu, consoleStagingAddr(base, cpu.count, cpu.id), PAGE_SIZE), () => cpu.hw.monotonicNs());
  const cmdlineText = decodeUtf8(info.cmdline);
  const { sched, idle } = attachScheduler(cpu, base, (e) => con.error(`Uncaught ${describeError(e)}`), haltPoll(cmdlineText));
  installInterruptEntry(cpu, idle, sched, con);
  const vfs = new Vfs(RofsVolume.mount(info.rootfs));
  setKernelState({ cpu, boot: info, console: con, vfs, mmu, sched, modules, cmdline: cmdlineText, powerOff: (code) => cpu.powerOff(code) });
  (globalThis as { console?: unknown }).console = con;
  try {
    // vCPU 0 reports a missing or broken program; here it only means no entries.
    defineProgramEntries(sched, loadProgram(vfs, parseCommandLine(cmdlineText).program, modules, con));
  } catch {
    defineProgramEntries(sched, null);
  }
  await sched.runCpu();
}

async function bootPrimary(cpu: Cpu, modules: Readonly<Record<string, object>>): Promise<void> {
  const info = readBootInfo(cpu.hw.memory);
  const alloc = new BootAllocator(info.freeMemory);
  const schedBase = reserveSchedulerArea(cpu, alloc);
  const early = new EarlyConsole(cpu, alloc.alloc(PAGE_SIZE, PAGE_SIZE), PAGE_SIZE);
  const con = new KernelConsole(early, () => cpu.hw.monotonicNs());
  const cmdlineText = decodeUtf8(info.cmdline);
  let verbose = false;
  const powerOff = (code: number): never => cpu.powerOff(code);
  try {
    const cmd = parseCommandLine(cmdlineText);
    verbose = cmd.verbose;
    const say = (text: string): void => {
      if (verbose) con.log(`osv-ts: ${text}`);
    };
    say(`${info.cpuCount} vCPU(s), ${Math.round(info.memoryBytes / 2 ** 20)} MiB`);

    startSecondaries(cpu);
    cpu.bootTrace('CPUS_ONLINE');

    const devices = probeDevices(cpu, info, alloc, say, cmd.netRxBufferBytes === undefined ? {} : { rxBufferBytes: cmd.netRxBufferBytes });
    if (devices.console) con.setSink(devices.console);
    for (const problem of devices.problems) con.error(`osv-ts: ${problem}`);
    cpu.bootTrace('DEVICES_UP');

    // From here on the mmu owns every byte the drivers did not take.
    const mmu = setupMemory(cpu, alloc);
    say(`mmu: ${Math.round(mmu.memInfo().memTotal / 2 ** 20)} MiB managed`);

    const vfs = new Vfs(RofsVolume.mount(info.rootfs));
    cpu.bootTrace('FS_MOUNTED');
    say(`mounted rofs on / (${info.rootfs.length} bytes)`);

    const { sched, idle } = attachScheduler(cpu, schedBase, (e) => con.error(`Uncaught ${describeError(e)}`), cmd.haltPollNs);
    installInterruptEntry(cpu, idle, sched, con);
    deviceRegistry().io.useScheduler(sched, idle);
    startReclaimer(mmu, sched);
    setKernelState({ cpu, boot: info, console: con, vfs, mmu, sched, modules, cmdline: cmdlineText, powerOff });
    (globalThis as { console?: unknown }).console = con;

    let program;
    try {
      program = loadProgram(vfs, cmd.program, modules, con);
    } catch (e) {
      if (e instanceof KernelError && (e.code === 'ENOENT' || e.code === 'EISDIR' || e.code === 'ENOEXEC' || e.code === 'ENOTDIR')) {
        con.error(`osv-ts: cannot run ${cmd.program}: ${e.message}`);
        powerOff(EXIT_NO_PROGRAM);
      }
      throw e;
    }
    defineProgramEntries(sched, program);
    cpu.bootTrace('APP_LOADED');
    say(`running ${cmd.argv.join(' ')}`);
    const main = program.main;
    sched.spawn(
      async function mainThread(): Promise<void> {
        cpu.bootTrace('APP_MAIN');
        let code: number;
        try {
          code = exitCodeOf(await main([...cmd.argv], { ...cmd.env }));
        } catch (e) {
          con.error(`Uncaught ${describeError(e)}`);
          code = EXIT_UNCAUGHT;
        }
        powerOff(code);
      },
      { name: 'main', cpu: 0 },
    );
    await sched.runCpu();
  } catch (e) {
    if (e instanceof KernelError && e.code === 'BAD_CMDLINE') {
      con.error(`osv-ts: ${e.message}`);
      powerOff(EXIT_NO_PROGRAM);
    }
    if (e instanceof KernelError && e.code === 'LINK_ERROR') {
      con.error(`osv-ts: ${e.message}`);
      powerOff(EXIT_NO_PROGRAM);
    }
    throw e;
  }
}

/**
 * The entry the hv calls while this vCPU is halted (abi.ts
 * KERNEL_INTERRUPT_GLOBAL): service pending interrupts and busy devices, as
 * the idle loop's poll does, so threads waiting on them run again.
 */
function installInterruptEntry(cpu: Cpu, idle: { service(): boolean }, sched: Scheduler, con: KernelConsole): void {
  let reported = 0;
  (globalThis as Record<string, unknown>)[KERNEL_INTERRUPT_GLOBAL] = (): void => {
    idle.service();
    // Halted while the scheduler counts a thread as running: that thread awaits
    // a promise the scheduler does not track, and nothing else can run here.
    const t = sched.current();
    if (t !== null && t.id !== reported) {
      reported = t.id;
      con.error(`osv-ts: vCPU ${cpu.id} stalled: thread ${t.id} ('${t.name}') awaits a promise the scheduler does not track (await only sched calls and kernel I/O)`);
    }
  };
}

/** The --halt-poll option of a command line, or undefined (vCPU 0 reports a bad command line; the others only read it). */
function haltPoll(text: string): number | undefined {
  try {
    return parseCommandLine(text).haltPollNs;
  } catch {
    return undefined;
  }
}

/**
 * An error as a program's user wants to read it: the stack down to the
 * kernel's call of main, without the kernel's and the hv's own frames.
 */
function describeError(e: unknown): string {
  if (e instanceof Error) {
    const stack = e.stack ?? `${e.name}: ${e.message}`;
    const lines = stack.split('\n');
    const cut = lines.findIndex((l) => /\bat (async )?(bootPrimary|mainThread)\b/.test(l));
    return (cut > 0 ? lines.slice(0, cut) : lines).join('\n');
  }
  try {
    return `exception: ${String(e)}`;
  } catch {
    return 'exception (unprintable)';
  }
}

/** Last resort: the panic hypercall, with the message staged in low memory (ASCII; others become '?'). */
function panic(cpu: Cpu, e: unknown): never {
  const text = describeError(e);
  const page = new Uint8Array(cpu.hw.memory, PANIC_STAGING_ADDR, PANIC_STAGING_BYTES);
  let n = 0;
  for (let i = 0; i < text.length && n < page.length; i++) {
    const c = text.charCodeAt(i);
    page[n++] = c < 0x80 ? c : 0x3f;
  }
  return cpu.panic(PANIC_STAGING_ADDR, n, 0);
}
