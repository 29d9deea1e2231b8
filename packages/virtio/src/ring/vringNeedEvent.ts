/**
 * The EVENT_IDX test, virtio-v1.2 2.7.7.2 / 2.7.10: after moving an index
 * from `oldIdx` to `newIdx`, should the other side be signalled given that it
 * asked to hear when the index passes `eventIdx`? All three are free-running
 * 16-bit ring indices; the comparison is done modulo 2^16 so it stays right
 * across wrap-around. True when eventIdx lies in [oldIdx, newIdx).
 *
 * Used by the driver (avail idx vs avail_event, before QueueNotify) and by the
 * device (used idx vs used_event, before an interrupt).
 */
export function vringNeedEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}
