/**
 * Virtio 1.x structures are little-endian (virtio-v1.2 1.4). Ring indices are
 * accessed with Atomics on native-endian typed arrays, so both sides refuse to
 * run on a big-endian host instead of silently misreading them.
 */
export const HOST_IS_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
