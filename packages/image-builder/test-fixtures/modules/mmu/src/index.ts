export const MMU_MARKER = 'fixture-mmu-index';
