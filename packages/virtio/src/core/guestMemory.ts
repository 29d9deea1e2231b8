/**
 * Guest physical memory as both sides of a virtqueue see it: one
 * SharedArrayBuffer in which physical address = byte offset. The hv owns it;
 * guest code and device models share it across threads.
 */
export type GuestMemory = SharedArrayBuffer;
