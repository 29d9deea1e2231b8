/**
 * The one address space's layout (virtual, bytes). All of it lies in the
 * canonical lower half below 2^47 so every address is an exact Number.
 *
 *   0 .. MMAP_MIN_ADDR          never mapped (null-pointer guard)
 *   MMAP_MIN_ADDR .. MMAP_TOP   mmap area: MAP_FIXED anywhere in it, other
 *                               mappings placed first-fit from MMAP_BASE
 *   DEBUG_BASE .. DEBUG_TOP     debug allocator: fresh pages per allocation,
 *                               never reused
 *   LINEAR_BASE ..              all of physical memory, mapped linearly at
 *                               format time (2 MiB leaves); malloc memory
 *                               lives here, as in OSv's phys_mem map
 */

/** Lowest address mmap may use (Linux's default mmap_min_addr). */
export const MMAP_MIN_ADDR = 0x10000;
/** Where mmu starts looking for room for a mapping without MAP_FIXED. */
export const MMAP_BASE = 2 ** 32;
/** End of the mmap area. */
export const MMAP_TOP = 2 ** 44;
/** Start of the debug allocator's region. */
export const DEBUG_BASE = 2 ** 44;
/** End of the debug allocator's region. */
export const DEBUG_TOP = 2 ** 45;
/** Virtual address of physical address 0 in the linear map. */
export const LINEAR_BASE = 2 ** 45;
