export const EXTRA_MARKER = 'fixture-kernel-extra';
