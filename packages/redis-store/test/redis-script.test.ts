import { type RedisServer, startRedisServer } from '@pinnacle/testing';
import { type RedisFixture, test } from '@pinnacle/testing/fixtures';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineScript, RedisScriptError } from '../src/redis-script.js';

let r: RedisFixture;
// A private server for what must not touch the shared one: SCRIPT FLUSH and
// the command counters.
let own: RedisServer;
let ownClient: Redis;

test.beforeAll(async ({ redis }) => {
  r = redis;
  own = await startRedisServer({ appendonly: false });
  ownClient = new Redis(own.url);
});
afterAll(async () => {
  ownClient.disconnect();
  await own.stop();
});

/** Echoes what the script sees, by name and by position (cjson writes an empty table as {}). */
const echo = defineScript({
  name: 'testEcho',
  keys: ['first', '...middle', 'last', '...tail'],
  args: ['a', '...xs', 'b', '...ys'],
  lua: `
return cjson.encode({
  first = first, middle = middle, nMiddle = #middle, last = last, tail = tail,
  a = a, xs = xs, nXs = #xs, b = b, ys = ys, keys = KEYS
})
`,
  parse: (reply) =>
    z
      .object({
        first: z.string(),
        middle: z.unknown(),
        nMiddle: z.number(),
        last: z.string(),
        tail: z.unknown(),
        a: z.string(),
        xs: z.unknown(),
        nXs: z.number(),
        b: z.string(),
        ys: z.unknown(),
        keys: z.array(z.string()),
      })
      .parse(JSON.parse(z.string().parse(reply))),
});

/** Adds to a counter: what it returns shows each call ran once. */
const add = defineScript({
  name: 'testAdd',
  keys: ['counter'],
  args: ['by'],
  lua: `return redis.call('INCRBY', counter, by)`,
  parse: z.number().int(),
});

/** INFO commandstats calls of `command` on the private server. */
async function calls(command: 'eval' | 'evalsha'): Promise<number> {
  const info = await ownClient.info('commandstats');
  const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
  return match ? Number(match[1]) : 0;
}

describe('defineScript', () => {
  it('hands each named key and argument, lists included, to its Lua local', async () => {
    // One hash tag: the script takes several keys, and a Cluster wants them in one slot.
    const k = (name: string) => `${r.prefix}:{echo}:${name}`;
    const seen = await echo(r.redis, {
      keys: { first: k('f'), middle: [k('m1'), k('m2'), k('m3')], last: k('l'), tail: [k('t1')] },
      args: { a: 'A', xs: [1, 2], b: Buffer.from('B'), ys: ['y1', 'y2', 'y3'] },
    });
    expect(seen).toMatchObject({
      first: k('f'),
      middle: [k('m1'), k('m2'), k('m3')],
      last: k('l'),
      tail: [k('t1')],
      a: 'A',
      xs: ['1', '2'],
      b: 'B',
      ys: ['y1', 'y2', 'y3'],
    });
    // Every key is in KEYS, in order: what a Cluster routes by.
    expect(seen.keys).toEqual([k('f'), k('m1'), k('m2'), k('m3'), k('l'), k('t1')]);

    const empty = await echo(r.redis, {
      keys: { first: k('f'), middle: [], last: k('l'), tail: [k('t1'), k('t2')] },
      args: { a: 'A', xs: [], b: 'B', ys: [] },
    });
    expect(empty).toMatchObject({ nMiddle: 0, last: k('l'), tail: [k('t1'), k('t2')] });
    expect(empty).toMatchObject({ nXs: 0, b: 'B' });
  });

  it('sends the body once per connection, then runs it by SHA', async () => {
    const client = new Redis(own.url);
    try {
      let defined = 0;
      const defineCommand = client.defineCommand.bind(client);
      client.defineCommand = (...args) => {
        defined += 1;
        defineCommand(...args);
      };
      await ownClient.config('RESETSTAT');
      for (let i = 1; i <= 3; i++) {
        expect(await add(client, { keys: { counter: 'once' }, args: { by: 1 } })).toBe(i);
      }
      expect(defined).toBe(1);
      expect([await calls('eval'), await calls('evalsha')]).toEqual([1, 2]);
    } finally {
      client.disconnect();
    }
  });

  it('runs again after SCRIPT FLUSH (NOSCRIPT), alone and in a pipeline', async () => {
    const client = new Redis(own.url);
    try {
      expect(await add(client, { keys: { counter: 'flush' }, args: { by: 1 } })).toBe(1);
      await ownClient.config('RESETSTAT');
      await ownClient.script('FLUSH');
      expect(await add(client, { keys: { counter: 'flush' }, args: { by: 2 } })).toBe(3);
      await ownClient.script('FLUSH');
      const pipeline = client.pipeline();
      add.queue(pipeline, { keys: { counter: 'flush' }, args: { by: 3 } });
      add.queue(pipeline, { keys: { counter: 'flush' }, args: { by: 4 } });
      const replies = (await pipeline.exec()) ?? [];
      expect(replies.map(([error, reply]) => error ?? add.parse(reply))).toEqual([6, 10]);
      expect(await ownClient.get('flush')).toBe('10');
      // The fallback did run: Redis refused the SHA once alone, then for both queued calls.
      expect(await ownClient.info('errorstats')).toMatch(/errorstat_NOSCRIPT:count=3\b/);
    } finally {
      client.disconnect();
    }
  });

  it('queues into a pipeline and a transaction once defined on the connection', async () => {
    const client = r.connect();
    const counter = `${r.prefix}:queued`;
    const early = client.pipeline();
    expect(() => add.queue(early, { keys: { counter }, args: { by: 1 } })).toThrow(
      RedisScriptError,
    );

    add.define(client);
    const pipeline = client.pipeline().set(counter, '5');
    add.queue(pipeline, { keys: { counter }, args: { by: 2 } });
    const replies = (await pipeline.exec()) ?? [];
    expect(replies).toEqual([
      [null, 'OK'],
      [null, 7],
    ]);

    const multi = client.multi();
    add.queue(multi, { keys: { counter }, args: { by: 3 } });
    add.queue(multi, { keys: { counter }, args: { by: 10 } });
    expect(await multi.exec()).toEqual([
      [null, 10],
      [null, 20],
    ]);
  });

  it('runs on an autopipelining client whose pending pipeline was made before the script was defined', async () => {
    const client = r.connect({ enableAutoPipelining: true });
    const counter = `${r.prefix}:auto`;
    // The GET makes this tick's pipeline; the script is defined after it.
    const [before, added, again] = await Promise.all([
      client.get(counter),
      add(client, { keys: { counter }, args: { by: 2 } }),
      add(client, { keys: { counter }, args: { by: 3 } }),
    ]);
    expect([before, added, again]).toEqual([null, 2, 5]);
  });

  it('checks the reply', async () => {
    const wrong = defineScript({
      name: 'testWrongReply',
      keys: ['key'],
      args: [],
      lua: `return 'not a number'`,
      parse: z.number(),
    });
    await expect(wrong(r.redis, { keys: { key: `${r.prefix}:x` } })).rejects.toThrow(z.ZodError);
  });

  it('refuses names that are not Lua names, twice used, or a client method', () => {
    const bad =
      (name: string, keys: string[] = ['key'], args: string[] = []) =>
      () =>
        defineScript({ name, keys, args, lua: 'return 1', parse: z.number() });
    expect(bad('test-dash')).toThrow(RedisScriptError);
    expect(bad('testKeys', ['end'])).toThrow(/not a camelCase Lua name/);
    expect(bad('testKeys', ['redis'])).toThrow(/not a camelCase Lua name/);
    expect(bad('testKeys', ['key'], ['key'])).toThrow(/named twice/);
    expect(bad('testAdd')).toThrow(/already named testAdd/);
    const get = defineScript({
      name: 'get',
      keys: ['key'],
      args: [],
      lua: 'return 1',
      parse: z.number(),
    });
    expect(() => get.define(r.redis)).toThrow(/already a command/);
  });
});
