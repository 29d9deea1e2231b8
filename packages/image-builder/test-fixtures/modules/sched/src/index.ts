export const SCHED_MARKER = 'fixture-sched-index';
export function yieldNow(): number {
  return 1;
}
