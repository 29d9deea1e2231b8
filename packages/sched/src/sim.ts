/**
 * `@osv-ts/sched/sim`: the deterministic simulation with N virtual CPUs and a
 * virtual clock, for testing fairness and balancing at scale.
 */
export { Simulation } from './sim/simulation.js';
export type { SimulationOptions, SimRunOptions, SimRunResult } from './sim/simulation.js';
