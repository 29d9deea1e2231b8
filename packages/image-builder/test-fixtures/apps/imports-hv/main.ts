import { PAGE_SIZE } from '@osv-ts/hv/abi';

export function main(): number {
  return PAGE_SIZE;
}
