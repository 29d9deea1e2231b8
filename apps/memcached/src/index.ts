/**
 * apps/memcached — a memcached-compatible server in the three builds the OSv
 * paper compared (DESIGN.md section 5). The server arrives with its issue; this
 * file holds the configuration contract the builds share.
 */

/** Server settings, named after memcached's own flags. */
export interface MemcachedOptions {
  /** TCP port (-p), default 11211. */
  readonly port: number;
  /** UDP port (-U), 0 = off. */
  readonly udpPort: number;
  /** Item memory limit in bytes (-m); osv-memcached grows into free memory instead. */
  readonly memoryLimit: number;
  /** Largest item, bytes (-I). */
  readonly maxItemSize: number;
}

/** memcached's defaults. */
export const DEFAULT_MEMCACHED_OPTIONS: MemcachedOptions = {
  port: 11211,
  udpPort: 0,
  memoryLimit: 64 * 2 ** 20,
  maxItemSize: 2 ** 20,
};
