/**
 * How a mapping's protection becomes leaf-entry bits, in one place for the
 * fault handler and mprotect.
 */
import { PROT_EXEC, PROT_WRITE } from '../mmapFlags.js';
import { PTE_A, PTE_D, PTE_P, PTE_RW, PTE_US, PTE_XD_HI } from '../pageTableEntry.js';

/** Low-word bits of a present leaf: P, US, A, RW when `writable`, D when `dirty`. */
export function leafLow(phys: number, writable: boolean, dirty: boolean): number {
  return phys | PTE_P | PTE_US | PTE_A | (writable ? PTE_RW : 0) | (dirty ? PTE_D : 0);
}

/** High-word bits of a leaf for `prot`: XD unless PROT_EXEC. */
export function leafHigh(prot: number): number {
  return (prot & PROT_EXEC) !== 0 ? 0 : PTE_XD_HI;
}

/** True if `prot` lets the page be written. */
export function protWritable(prot: number): boolean {
  return (prot & PROT_WRITE) !== 0;
}
