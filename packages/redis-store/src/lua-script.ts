import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by its SHA (EVALSHA), falling back to EVAL when the
 * server does not know it yet (first use, restart, failover). Saves sending
 * the script body with every page of a large sync.
 */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number | Buffer)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return redis.eval(this.source, keys.length, ...keys, ...args);
      }
      throw error;
    }
  }
}

/**
 * Lua (to splice into a script) that keeps only the newest `limit` members
 * of a zset index scored by time, deleting the record (`recordPrefix .. id`)
 * of every member it trims, and the keys named `recordPrefix .. id .. suffix`
 * for each of `suffixes` (records kept beside it). Arguments are Lua
 * expressions, e.g. `KEYS[2]`.
 */
export function luaTrimIndex(
  index: string,
  limit: string,
  recordPrefix: string,
  suffixes: readonly string[] = [],
): string {
  const beside = suffixes.map((s) => `, ${recordPrefix} .. id .. ${JSON.stringify(s)}`).join('');
  return `local excess = redis.call('ZCARD', ${index}) - tonumber(${limit})
if excess > 0 then
  local old = redis.call('ZRANGE', ${index}, 0, excess - 1)
  for _, id in ipairs(old) do redis.call('DEL', ${recordPrefix} .. id${beside}) end
  redis.call('ZREMRANGEBYRANK', ${index}, 0, excess - 1)
end`;
}

/**
 * Lua (to splice into a script) defining `bulk(command, key, list)`: runs
 * `command key <items of list>` in slices, as Lua's unpack cannot take a
 * whole large list at once. The slice size is even, so field/value pairs
 * never split.
 */
export const luaBulk = `local function bulk(command, key, list)
  for from = 1, #list, 1000 do
    redis.call(command, key, unpack(list, from, math.min(from + 999, #list)))
  end
end`;
