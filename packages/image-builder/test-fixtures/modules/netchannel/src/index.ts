import { yieldNow } from '@osv-ts/sched';
export const NETCHANNEL_MARKER = 'fixture-netchannel-index';
export function poll(): number {
  return yieldNow();
}
