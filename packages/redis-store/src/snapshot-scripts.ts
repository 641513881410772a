import { z } from 'zod';
import { luaBulk } from './lua-script.js';
import { defineScript } from './redis-script.js';
import { FENCED, luaFence } from './write-fence.js';

const fencedOr = <T extends z.ZodType>(reply: T) => z.union([z.literal(FENCED), reply]);

/*
 * The compact snapshot's scripts (records: snapshot-codec.ts). Lua compares
 * keys by their first six bytes as a number, then bytewise: Lua's own string
 * order follows the server's locale (strcoll), which must not decide an
 * order that Node and every Redis have to agree on.
 */
const luaKeys = `
local byte, sub, char, concat = string.byte, string.sub, string.char, table.concat
local floor = math.floor
-- An entry's key's first six bytes as a number (zero-padded): the primary
-- order, exact below 2^48.
local function n48(e)
  local k = byte(e, 1)
  local a, b, c, d, x, f = byte(e, 2, 7)
  if k < 6 then
    local bytes = {a, b, c, d, x, f}
    for i = k + 1, 6 do bytes[i] = 0 end
    a, b, c, d, x, f = bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6]
  end
  return ((((a * 256 + b) * 256 + c) * 256 + d) * 256 + x) * 256 + f
end
local function keyOf(e) return sub(e, 2, 1 + byte(e, 1)) end
local function bytesLess(a, b)
  local la, lb = #a, #b
  for i = 1, (la < lb and la or lb) do
    local x, y = byte(a, i), byte(b, i)
    if x ~= y then return x < y end
  end
  return la < lb
end
local function entryLess(a, b) return bytesLess(keyOf(a), keyOf(b)) end
`;

// Adds one page of a group's members to the run's staging buckets: hashes
// of key → entry (snapshot-codec.ts), the user's groups merged, its fields
// and disabled flag those of the last page that showed it. Idempotent: a
// replayed page writes nothing.
// buckets: the staging buckets the page touches; pages: per bucket (in the
// same order) its users as records: [k] key [body length, 2 bytes] body.
// bits: the plan's bucket bits; ceiling: user ceiling (0: none).
// Returns the users the version holds after the page; -1 (nothing written)
// when the version is already the committed one (a stalled worker
// finishing a run another worker committed), -2 when the run's plan is not
// the one the caller staged for (restarted elsewhere, being built, expired,
// or its org offboarded), -3 past 255 groups. Once the version holds more
// users than the ceiling, a page writes nothing and returns that count: the
// staging stops within one page of the ceiling, whatever the concurrency.
export const snapshotStagePage = defineScript({
  name: 'snapshotStagePage',
  keys: ['current', 'plan', '...buckets'],
  args: ['ttl', 'version', 'groupId', 'bits', 'ceiling', '...pages'],
  lua: `
if redis.call('GET', current) == version then return -1 end
${luaBulk}
local byte, sub, char = string.byte, string.sub, string.char
local state = redis.call('HMGET', plan, 'bits', 'g:' .. groupId, 'building', 'users')
if state[1] ~= bits or state[3] then return -2 end
local total, most = tonumber(state[4]) or 0, tonumber(ceiling)
if most > 0 and total > most then return total end
local gi = tonumber(state[2])
if not gi then
  gi = redis.call('HINCRBY', plan, 'groups', 1)
  if gi > 255 then return -3 end
  redis.call('HSET', plan, 'g:' .. groupId, gi)
end
local g = char(gi)
local function withGroup(groups)
  for i = 1, #groups do
    local x = byte(groups, i)
    if x == gi then return groups end
    if x > gi then return sub(groups, 1, i - 1) .. g .. sub(groups, i) end
  end
  return groups .. g
end
local added, disabled = 0, 0
for b, bucket in ipairs(buckets) do
  local records = pages[b]
  local fields, bodies = {}, {}
  local p = 1
  while p <= #records do
    local kl = byte(records, p)
    local f = sub(records, p + 1, p + kl)
    local h, l = byte(records, p + kl + 1, p + kl + 2)
    local bl = h * 256 + l
    if bodies[f] == nil then fields[#fields + 1] = f end
    bodies[f] = sub(records, p + kl + 3, p + kl + 2 + bl)
    p = p + kl + 3 + bl
  end
  local writes = {}
  for from = 1, #fields, 1000 do
    local slice = {unpack(fields, from, math.min(from + 999, #fields))}
    local old = redis.call('HMGET', bucket, unpack(slice))
    for j, f in ipairs(slice) do
      local body = bodies[f]
      local off = byte(body, 1) % 4 == 0
      local prev = old[j]
      local value
      if not prev then
        value = char(#f) .. f .. '\\1' .. g .. body
        added = added + 1
        if off then disabled = disabled + 1 end
      else
        local at = #f + 2
        local gc = byte(prev, at)
        local groups = withGroup(sub(prev, at + 1, at + gc))
        value = char(#f) .. f .. char(#groups) .. groups .. body
        if value == prev then
          value = nil
        else
          local was = byte(prev, at + 1 + gc) % 4 == 0
          if was ~= off then disabled = disabled + (off and 1 or -1) end
        end
      end
      if value then
        writes[#writes + 1] = f
        writes[#writes + 1] = value
      end
    end
  end
  bulk('HSET', bucket, writes)
  redis.call('EXPIRE', bucket, ttl)
end
if added ~= 0 then total = redis.call('HINCRBY', plan, 'users', added) end
if disabled ~= 0 then redis.call('HINCRBY', plan, 'disabled', disabled) end
redis.call('EXPIRE', plan, ttl)
return total
`,
  parse: z.number().int(),
});

// Starts a run's staging plan (fields and values as given), expiring with
// the staging. fields: the plan's field/value pairs. Returns 1, or FENCED.
export const snapshotStartPlan = defineScript({
  name: 'snapshotStartPlan',
  keys: ['plan', 'fence'],
  args: ['ttl', 'fenced', '...fields'],
  lua: `
${luaFence('fence', 'fenced')}
redis.call('DEL', plan)
redis.call('HSET', plan, unpack(fields))
redis.call('EXPIRE', plan, ttl)
return 1
`,
  parse: fencedOr(z.literal(1)),
});

// Marks a staging plan as being built (no page may add to it any more).
// Returns 1, 0 when the plan is gone (expired, or built by another
// attempt), or FENCED.
export const snapshotMarkBuilding = defineScript({
  name: 'snapshotMarkBuilding',
  keys: ['plan', 'fence'],
  args: ['fenced'],
  lua: `
${luaFence('fence', 'fenced')}
if redis.call('EXISTS', plan) == 0 then return 0 end
redis.call('HSET', plan, 'building', 1)
return 1
`,
  parse: fencedOr(z.union([z.literal(0), z.literal(1)])),
});

// Finishes a build: the version's layout (first build: the plan is then
// consumed) and the run's change summary. json: the layout ('' on a
// re-diff of a built version); fields: the summary's field/value pairs.
// Returns 1, or FENCED.
export const snapshotFinishBuild = defineScript({
  name: 'snapshotFinishBuild',
  keys: ['layout', 'plan', 'summary', 'fence'],
  args: ['fenced', 'ttl', 'json', '...fields'],
  lua: `
${luaFence('fence', 'fenced')}
if json ~= '' then
  redis.call('SET', layout, json, 'EX', ttl)
  redis.call('DEL', plan)
end
redis.call('HSET', summary, unpack(fields))
return 1
`,
  parse: fencedOr(z.literal(1)),
});

// Builds (or re-diffs) one batch of a version: a range of the key space.
// The new users come from the staging buckets (mode 's': sorted, disabled
// accounts left out unless kept, written to the version's buckets, the
// staging buckets then dropped) or from the built buckets (mode 'f': a
// re-diff against a newer base). The old version is read as one sorted
// stream from (its bucket, offset), as far as the batch reaches, so the two
// versions may have different bucket counts. Equal entries are unchanged
// users (the entry is the whole record). Records the first `cap` changes of
// each kind in the run's lists.
// Keys: the run's three change lists, the batch's sources, the buckets to
// write (`finals`, mode 's') and the old version's buckets from the
// stream's. bits: the final bucket bits; firstBucket: the first of
// `finals`; batchEnd: key prefix, exclusive; oldOffset: in the first old
// bucket; remap: group remap (byte i = canonical index of staged index i;
// '' = identity); translate: old-group translation (byte i = new index of
// old index i, 0 = gone; '' = identity).
// Returns {users, added, removed, changed, old buckets passed, old offset}.
export const snapshotBuildBatch = defineScript({
  name: 'snapshotBuildBatch',
  keys: ['addedList', 'removedList', 'changedList', '...sources', '...finals', '...oldBuckets'],
  args: [
    'mode',
    'keepDisabled',
    'ttl',
    'bits',
    'firstBucket',
    'batchEnd',
    'oldOffset',
    'remap',
    'translate',
    'cap',
  ],
  lua: `
${luaBulk}
${luaKeys}
local keep = keepDisabled == '1'
local ns, nf, no = #sources, #finals, #oldBuckets
local fdiv = 2 ^ (32 - tonumber(bits)) * 65536
local ffirst = tonumber(firstBucket)
local hi = tonumber(batchEnd) * 65536
local off = tonumber(oldOffset)
local limit = tonumber(cap)
local lists = {addedList, removedList, changedList}

-- An entry with its group indexes mapped (and sorted); also whether any
-- mapped to 0 (a group the other version does not have).
local function mapGroups(e, map)
  local at = byte(e, 1) + 2
  local gc = byte(e, at)
  local list, lost = {}, false
  for i = at + 1, at + gc do
    local m = byte(map, byte(e, i)) or 0
    if m == 0 then lost = true else list[#list + 1] = m end
  end
  table.sort(list)
  local parts = {}
  for i, m in ipairs(list) do parts[i] = char(m) end
  return sub(e, 1, at - 1) .. char(#list) .. concat(parts) .. sub(e, at + 1 + gc), lost
end
local function groupsOf(e)
  local at = byte(e, 1) + 2
  return sub(e, at, at + byte(e, at))
end

-- The batch's new users, sorted: entries and their numbers.
local ne, nn = {}, {}
if mode == 's' then
  for s = 1, ns do
    local nums, byNum, ties = {}, {}, {}
    for _, e in ipairs(redis.call('HVALS', sources[s])) do
      local at = byte(e, 1) + 2
      if keep or byte(e, at + 1 + byte(e, at)) % 4 ~= 0 then
        if remap ~= '' then e = mapGroups(e, remap) end
        local n = n48(e)
        local seen = byNum[n]
        if seen == nil then
          nums[#nums + 1] = n
          byNum[n] = e
        elseif ties[n] then
          local list = ties[n]
          list[#list + 1] = e
        else
          ties[n] = {seen, e}
        end
      end
    end
    table.sort(nums)
    for _, n in ipairs(nums) do
      local list = ties[n]
      if list then
        table.sort(list, entryLess)
        for _, e in ipairs(list) do ne[#ne + 1], nn[#nn + 1] = e, n end
      else
        ne[#ne + 1], nn[#nn + 1] = byNum[n], n
      end
    end
  end
else
  for s = 1, ns do
    for _, e in ipairs(redis.call('LRANGE', sources[s], 0, -1)) do
      ne[#ne + 1], nn[#nn + 1] = e, n48(e)
    end
  end
end

-- The old version: one sorted stream across its buckets, up to the batch end.
local oi, slice, si = 1, {}, 1
local function peekOld()
  while true do
    local e = slice[si]
    if e then
      local n = n48(e)
      if n >= hi then return nil end
      return e, n
    end
    if oi > no then return nil end
    slice, si = redis.call('LRANGE', oldBuckets[oi], off, off + 511), 1
    if #slice == 0 then
      oi, off = oi + 1, 0
    end
  end
end
local function takeOld()
  si, off = si + 1, off + 1
end

local room = {}
for i = 1, 3 do room[i] = limit - redis.call('LLEN', lists[i]) end
local pushed = {{}, {}, {}}
local function record(kind, item)
  local list = pushed[kind]
  if #list < room[kind] then list[#list + 1] = item end
end

local added, removed, changed = 0, 0, 0
local out = {}
for i = 1, nf do out[i] = {} end
local oe, on = peekOld()
for i = 1, #ne do
  local e, n = ne[i], nn[i]
  -- Old entries ordered before this one are gone.
  while oe and (on < n or (on == n and oe ~= e and entryLess(oe, e))) do
    removed = removed + 1
    record(2, oe)
    takeOld()
    oe, on = peekOld()
  end
  if oe and on == n and (oe == e or keyOf(oe) == keyOf(e)) then
    local old, lost = oe, false
    if translate ~= '' then old, lost = mapGroups(oe, translate) end
    if lost or old ~= e then
      changed = changed + 1
      if #pushed[3] < room[3] then
        local groupsDiffer = lost or groupsOf(old) ~= groupsOf(e)
        pushed[3][#pushed[3] + 1] = char(groupsDiffer and 1 or 0) .. char(floor(#e / 256))
          .. char(#e % 256) .. e .. oe
      end
    end
    takeOld()
    oe, on = peekOld()
  else
    added = added + 1
    record(1, e)
  end
  if mode == 's' then
    local list = out[floor(n / fdiv) - ffirst + 1]
    list[#list + 1] = e
  end
end
while oe do
  removed = removed + 1
  record(2, oe)
  takeOld()
  oe, on = peekOld()
end

for i = 1, 3 do bulk('RPUSH', lists[i], pushed[i]) end
if mode == 's' then
  for i = 1, nf do
    local key = finals[i]
    bulk('RPUSH', key, out[i])
    if #out[i] > 0 then redis.call('EXPIRE', key, ttl) end
  end
  for s = 1, ns do redis.call('UNLINK', sources[s]) end
end
return {#ne, added, removed, changed, oi - 1, off}
`,
  parse: z.tuple([z.number(), z.number(), z.number(), z.number(), z.number(), z.number()]),
});

// Points `current` at the new version if nobody else committed in between.
// One SET is the swap: readers see the old version or the new one. The new
// version's keys stop expiring, the old one's start (readers holding a
// cursor finish on it meanwhile), and the run's changes are marked applied.
// Keys: the new version's layout, meta and buckets, its run's changes
// summary, and every key of the old version. expected: the old version
// ('' for none); retiredTtl: how long the old version stays readable.
// Returns 1, 0 when the committed version is not the expected one, or
// FENCED (the run's org was offboarded: nothing is swapped).
export const snapshotPromote = defineScript({
  name: 'snapshotPromote',
  keys: ['current', 'layout', 'meta', 'summary', '...newBuckets', '...oldKeys', 'fence'],
  args: ['expected', 'version', 'retiredTtl', 'metaJson', 'fenced'],
  lua: `
${luaFence('fence', 'fenced')}
local cur = redis.call('GET', current) or ''
if cur ~= expected then return 0 end
redis.call('SET', meta, metaJson)
redis.call('PERSIST', layout)
for _, key in ipairs(newBuckets) do redis.call('PERSIST', key) end
redis.call('SET', current, version)
if redis.call('EXISTS', summary) == 1 then redis.call('HSET', summary, 'applied', '1') end
if cur ~= '' and cur ~= version then
  for _, key in ipairs(oldKeys) do redis.call('EXPIRE', key, retiredTtl) end
end
return 1
`,
  parse: fencedOr(z.union([z.literal(0), z.literal(1)])),
});
