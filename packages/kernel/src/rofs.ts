/**
 * `@osv-ts/kernel/rofs`: the read-only root filesystem, after OSv's rofs — an
 * archive the image builder writes (buildRofs) and the kernel mounts from
 * memory (RofsVolume) — and the UTF-8 codec guest code uses in place of
 * TextEncoder/TextDecoder.
 */

export { KernelError } from './errors.js';
export { buildRofs } from './fs/rofsBuild.js';
export type { RofsFile } from './fs/rofsBuild.js';
export { RofsVolume } from './fs/rofsVolume.js';
export type { RofsStat } from './fs/rofsVolume.js';
export {
  ROFS_MAGIC,
  ROFS_VERSION,
  ROFS_ROOT_INODE,
  ROFS_NAME_MAX,
  ROFS_PATH_MAX,
  ROFS_SUPERBLOCK_LAYOUT,
  ROFS_INODE_LAYOUT,
  ROFS_DIRENT_LAYOUT,
  S_IFMT,
  S_IFDIR,
  S_IFREG,
} from './fs/rofsLayout.js';
export { encodeUtf8, encodeUtf8Into, utf8ByteLength, decodeUtf8, isUtf8, isWellFormedText } from './fs/utf8.js';
