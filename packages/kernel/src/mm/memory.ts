/**
 * The kernel's memory: the mmu package over the machine's RAM. vCPU 0 formats
 * it with every byte the boot allocator has not handed out (device rings and
 * buffers keep theirs) and publishes the mmu's state address in the kernel
 * shared page; every other vCPU waits for that address and attaches. TLB
 * shootdowns travel as IRQ_IPI_TLB interrupts, serviced by whichever loop of
 * the target vCPU takes its pending lines (arch/interrupts.ts).
 */
import { IRQ_IPI_TLB } from '@osv-ts/hv/abi';
import { Mmu, type TlbIpi } from '@osv-ts/mmu';
import type { Scheduler } from '@osv-ts/sched';
import type { Cpu } from '../arch/cpu.js';
import { onInterrupt } from '../arch/interrupts.js';
import { awaitShared, publishShared } from '../arch/smp.js';
import type { BootAllocator } from './bootAllocator.js';

function tlbIpi(cpu: Cpu): TlbIpi | undefined {
  if (cpu.count < 2) return undefined;
  return { sendTlbShootdown: (target) => cpu.sendIpi(target, IRQ_IPI_TLB) };
}

function serviceShootdowns(mmu: Mmu): void {
  onInterrupt(IRQ_IPI_TLB, () => mmu.serviceTlbShootdown());
}

/**
 * On vCPU 0, after the drivers took their DMA memory: formats the mmu over the
 * rest of RAM and publishes it to the other vCPUs.
 * @throws MmuError when the memory map is unusable (no room for its tables)
 */
export function setupMemory(cpu: Cpu, boot: BootAllocator): Mmu {
  const ipi = tlbIpi(cpu);
  const mmu = Mmu.format({ memory: cpu.hw.memory, cpu: cpu.id, freeRanges: boot.handOver(), ...(ipi ? { ipi } : {}) });
  serviceShootdowns(mmu);
  publishShared(cpu, 'MMU_STATE', mmu.stateAddress);
  return mmu;
}

/**
 * On a secondary vCPU: waits until vCPU 0 has published the mmu, attaches to
 * it and installs the shootdown handler.
 * @throws KernelError EIO when vCPU 0 never publishes it
 */
export function attachMemory(cpu: Cpu): Mmu {
  const state = awaitShared(cpu, 'MMU_STATE', 'memory');
  const ipi = tlbIpi(cpu);
  const mmu = Mmu.attach({ memory: cpu.hw.memory, cpu: cpu.id, stateAddress: state, ...(ipi ? { ipi } : {}) });
  serviceShootdowns(mmu);
  return mmu;
}

/** How often the reclaimer looks at free memory when nothing woke it, ns. */
const RECLAIM_POLL_NS = 100e6;

/**
 * Starts the reclaimer thread on this vCPU: below the low watermark (10% of
 * RAM free) it asks the registered shrinkers for the difference, softly; an
 * allocation that is blocked runs them itself with `hard` set.
 */
export function startReclaimer(mmu: Mmu, sched: Scheduler): void {
  sched.spawn(
    async function reclaimer(): Promise<void> {
      await mmu.reclaimer.run({
        waitForPressure: async () => {
          await sched.sleep(RECLAIM_POLL_NS);
        },
        stopped: () => false,
      });
    },
    { name: 'reclaimer' },
  );
}
