// Fixture kernel module: the marker string lets tests find it in a bundle.
export const KERNEL_MARKER = 'fixture-kernel-index';

export function greeting(name: string): string {
  return `hello, ${name}`;
}
