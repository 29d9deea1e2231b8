/**
 * Cross-CPU wake-ups (OSv's cpu::incoming_wakeups): for each target CPU, one
 * list per source CPU plus a mask of sources with something pushed. A list is
 * a CAS push-stack linked through the woken threads' WAKE_NEXT words; only
 * the source CPU pushes on it and only the target takes it, whole, with one
 * Atomics.exchange, so there is no ABA and no capacity to overflow. A thread
 * is on at most one list at a time: only the CPU whose CAS moved it to WAKING
 * pushes it, and it cannot be woken again before its CPU has taken it.
 */
import type { SharedArea } from './sharedArea.js';
import { CPU_LAYOUT, THREAD_SLOT_LAYOUT } from './sharedLayout.js';

const C_INCOMING = CPU_LAYOUT.INCOMING.offset;
const C_MASK_LO = CPU_LAYOUT.MASK_LO.offset;
const C_MASK_HI = CPU_LAYOUT.MASK_HI.offset;
const S_WAKE_NEXT = THREAD_SLOT_LAYOUT.WAKE_NEXT.offset;

/** Pushes thread `slot` on CPU `target`'s list from CPU `source` and flags that list in the mask. */
export function pushIncoming(area: SharedArea, target: number, source: number, slot: number): void {
  const i = area.i32;
  const head = area.cpuWord(target, C_INCOMING + source);
  const link = area.slotWord(slot, S_WAKE_NEXT);
  for (;;) {
    const h = Atomics.load(i, head);
    Atomics.store(i, link, h);
    if (Atomics.compareExchange(i, head, h, slot) === h) break;
  }
  if (source < 32) Atomics.or(i, area.cpuWord(target, C_MASK_LO), 1 << source);
  else Atomics.or(i, area.cpuWord(target, C_MASK_HI), 1 << (source - 32));
}

/** Does CPU `cpu` have wake-ups waiting? One or two loads: cheap enough for a polling loop. */
export function hasIncoming(area: SharedArea, cpu: number): boolean {
  const i = area.i32;
  return (Atomics.load(i, area.cpuWord(cpu, C_MASK_LO)) | Atomics.load(i, area.cpuWord(cpu, C_MASK_HI))) !== 0;
}

/**
 * Takes every flagged list of CPU `cpu` and calls `accept` for each thread,
 * oldest first within a list. A link outside the slot table, or a list longer
 * than the table (a cycle), ends that list and is counted as corruption.
 * Returns how many threads were accepted.
 */
export function drainIncoming(area: SharedArea, cpu: number, accept: (slot: number) => void): number {
  const i = area.i32;
  const lo = Atomics.exchange(i, area.cpuWord(cpu, C_MASK_LO), 0);
  const hi = Atomics.exchange(i, area.cpuWord(cpu, C_MASK_HI), 0);
  let n = 0;
  for (let m = lo, base = 0; ; m = hi, base = 32) {
    while (m !== 0) {
      const bit = 31 - Math.clz32(m & -m);
      m &= m - 1;
      const source = base + bit;
      if (source >= area.cpuCount) {
        area.noteCorrupt();
        continue;
      }
      n += drainList(area, Atomics.exchange(i, area.cpuWord(cpu, C_INCOMING + source), 0), accept);
    }
    if (base === 32) break;
  }
  return n;
}

function drainList(area: SharedArea, head: number, accept: (slot: number) => void): number {
  const i = area.i32;
  // Reverse in place (the list is ours now) so wake-ups are handled in order.
  let prev = 0;
  let cur = head;
  for (let k = 0; cur !== 0; k++) {
    if (!area.validSlot(cur) || k >= area.threadCapacity) {
      area.noteCorrupt();
      break;
    }
    const link = area.slotWord(cur, S_WAKE_NEXT);
    const next = Atomics.load(i, link);
    Atomics.store(i, link, prev);
    prev = cur;
    cur = next;
  }
  let n = 0;
  for (cur = prev; cur !== 0; n++) {
    const link = area.slotWord(cur, S_WAKE_NEXT);
    const next = Atomics.load(i, link);
    Atomics.store(i, link, 0);
    accept(cur);
    cur = next;
  }
  return n;
}
