import { nothing } from './missing.js';

export function main(): unknown {
  return nothing;
}
