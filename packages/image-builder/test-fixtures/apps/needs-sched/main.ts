import { yieldNow } from '@osv-ts/sched';

export default function main(): number {
  return yieldNow();
}
