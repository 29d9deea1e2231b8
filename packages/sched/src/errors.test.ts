import { describe, expect, it } from 'vitest';
import { SCHED_ERRNO, SCHED_ERROR_CODES, SchedError } from './errors.js';

describe('SchedError', () => {
  it('carries its name, code, Linux errno and cause', () => {
    const cause = new Error('inner');
    const e = new SchedError('ETIMEDOUT', 'took too long', { cause });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('SchedError');
    expect(e.code).toBe(SCHED_ERROR_CODES.ETIMEDOUT);
    expect(e.errno).toBe(110);
    expect(e.cause).toBe(cause);
  });

  it('maps negative errno numbers back to codes, unknown ones to EIO', () => {
    for (const [code, n] of Object.entries(SCHED_ERRNO)) expect(SchedError.fromErrno(-n, 'x').code).toBe(code);
    const e = SchedError.fromErrno(-9999, 'odd');
    expect(e.code).toBe('EIO');
    expect(e.message).toMatch(/errno 9999/);
  });
});
