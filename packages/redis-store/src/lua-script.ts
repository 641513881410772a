/**
 * Lua (to splice into a script) that keeps only the newest `limit` members
 * of a zset index scored by time, deleting the record (`recordPrefix .. id`)
 * of every member it trims, and the keys named `recordPrefix .. id .. suffix`
 * for each of `suffixes` (records kept beside it). Arguments are Lua
 * expressions, e.g. a script's named key `runIndex` (see defineScript).
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
