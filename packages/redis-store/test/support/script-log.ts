/**
 * Setup file: with TEST_SCRIPT_LOG set (by script-coverage.ts), every call of
 * a command made by `defineCommand` (every defineScript script) appends its
 * name to that file, so the run can tell which scripts it ran.
 */
import { appendFileSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';

const log = process.env.TEST_SCRIPT_LOG;
if (log !== undefined && log !== '') {
  for (const proto of [Redis.prototype, Cluster.prototype] as unknown as Record<
    string,
    unknown
  >[]) {
    const define = proto.defineCommand as (
      this: Record<string, unknown>,
      name: string,
      d: object,
    ) => void;
    proto.defineCommand = function (this: Record<string, unknown>, name: string, d: object) {
      define.call(this, name, d);
      for (const method of [name, `${name}Buffer`]) {
        const original = this[method] as (...args: unknown[]) => unknown;
        this[method] = function (this: unknown, ...args: unknown[]) {
          appendFileSync(log, `${name}\n`);
          return original.apply(this, args);
        };
      }
    };
  }
}
