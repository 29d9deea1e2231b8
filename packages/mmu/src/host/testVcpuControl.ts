/** Words of the control array between the test thread and testVcpuWorker.ts. */
export const CTL = {
  COMMAND: 0, // sequence number of the last posted command; the test thread bumps it, the worker waits on it
  DONE: 1, // sequence number of the last finished command; the worker sets it, the test thread waits on it
  STOP: 2, // 1: the worker detaches and exits
  READY: 3, // 1 once the worker has attached
} as const;
