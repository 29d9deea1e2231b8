/**
 * What the differential tests generate: fast-check arbitraries of plan steps,
 * and the files they map. Test support only (not part of the package build).
 */
import fc from 'fast-check';
import type { PlanStep } from './differentialDriver.js';
import { patternBytes } from './differentialOps.js';

/** Fast-check arbitrary of one plan step for `cpus` vCPUs. */
export function planStep(cpus: number): fc.Arbitrary<PlanStep> {
  return fc.record({
    cpu: fc.integer({ min: 0, max: cpus - 1 }),
    kind: fc.constantFrom(0, 0, 1, 2, 2, 3, 4, 5, 5, 5, 6, 6, 6, 7, 8),
    region: fc.nat(40),
    pageOff: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 500, max: 1100 })),
    byteOff: fc.oneof(fc.integer({ min: 0, max: 4095 }), fc.constant(4094), fc.constant(0)),
    size: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 500, max: 1100 })),
    prot: fc.constantFrom(0, 1, 3, 3, 3, 5, 7),
    variant: fc.nat(3),
    fixed: fc.boolean(),
    arg: fc.nat(),
  });
}

/** Two files: one ends mid-page, one is whole pages. */
export function diffFiles(): Map<number, Uint8Array> {
  return new Map([
    [0, patternBytes(3 * 4096 + 1000, 7)],
    [1, patternBytes(5 * 4096, 11)],
  ]);
}

