/**
 * Test helper: a fresh guest memory laid out as the hv lays it out (page 0
 * unused, boot pages low, the root filesystem at 1 MiB) with free RAM from
 * 2 MiB up, formatted for vCPU 0. Used by tests and benchmarks only.
 */
import { Mmu, type MmuFormatOptions } from '../mmu.js';

/** Formats `bytes` of fresh memory (free from 2 MiB) and returns vCPU 0's Mmu. */
export function testMachine(bytes: number, options: Partial<MmuFormatOptions> = {}): Mmu {
  const memory = new SharedArrayBuffer(bytes);
  return Mmu.format({ memory, cpu: 0, freeRanges: [{ base: 0x20_0000, length: bytes - 0x20_0000 }], ...options });
}
