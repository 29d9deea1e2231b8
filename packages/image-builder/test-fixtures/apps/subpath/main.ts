import { EXTRA_MARKER } from '@osv-ts/kernel/extra';

export function main(): string {
  return EXTRA_MARKER;
}
