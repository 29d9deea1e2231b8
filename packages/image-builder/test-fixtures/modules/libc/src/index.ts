export const LIBC_MARKER = 'fixture-libc-index';
