import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import type { z } from 'zod';

/**
 * A connection a script runs on: a single Redis or a Cluster (both take
 * `defineCommand`; a script's keys must then share one slot, as always).
 */
export type ScriptConnection = Redis | Cluster;

/** A value passed in ARGV (ioredis sends numbers as their decimal text). */
export type ScriptArg = string | number | Buffer;

/** A programming error in a script's definition or use (never a Redis failure). */
export class RedisScriptError extends Error {
  constructor(
    readonly code: 'script_name_invalid' | 'script_name_taken' | 'script_not_defined',
    message: string,
  ) {
    super(message);
    this.name = 'RedisScriptError';
  }
}

/** `'...name'` declares a list: any number of KEYS (or ARGV) entries, read in Lua as a table. */
type ListName<S> = S extends `...${infer N}` ? N : never;
type ItemName<S> = S extends `...${string}` ? never : S;

/** The named values of a script's KEYS or ARGV: one value per name, an array per list. */
export type Named<Names extends readonly string[], V> = {
  [S in Names[number] as ItemName<S>]: V;
} & { [S in Names[number] as ListName<S>]: readonly V[] };

/** What a script is called with: its keys and its arguments, by name. */
export type ScriptParams<K extends readonly string[], A extends readonly string[]> = {
  keys: Named<K, string>;
} & (A extends readonly [] ? { args?: Record<string, never> } : { args: Named<A, ScriptArg> });

export interface ScriptDefinition<K extends readonly string[], A extends readonly string[], R> {
  /** The command's name on each connection (camelCase, unique in the process). */
  name: string;
  /** KEYS by name, in order; `'...name'` for a list. */
  keys: K;
  /** ARGV by name, in order; `'...name'` for a list. */
  args: A;
  /**
   * The script's body. It reads its keys and arguments as Lua locals of the
   * same names (a list as a table); KEYS and ARGV stay available.
   */
  lua: string;
  /** Checks the reply and gives it its type: a zod schema or a function. */
  parse: z.ZodType<R> | ((reply: unknown) => R);
}

export interface RedisScript<K extends readonly string[], A extends readonly string[], R> {
  /** Runs the script on `redis` (registering it there first, once per connection). */
  (redis: ScriptConnection, params: ScriptParams<K, A>): Promise<R>;
  readonly name: string;
  /** The Lua that Redis runs: the locals' prologue, then the body. */
  readonly lua: string;
  /**
   * Registers the script on `redis` (idempotent). Needed before
   * `redis.pipeline()` or `redis.multi()` for `queue` to find it there.
   */
  define(redis: ScriptConnection): void;
  /** Adds a call to a pipeline or transaction; its reply goes through `parse`. */
  queue(pipeline: ChainableCommander, params: ScriptParams<K, A>): ChainableCommander;
  /** Checks and types a reply (a pipeline's, say). */
  parse(reply: unknown): R;
}

const LUA_NAME = /^[a-z][A-Za-z0-9]*$/;
/** Lua's keywords, and the globals of Redis's Lua a local must not hide. */
const LUA_RESERVED = new Set(
  [
    'and break do else elseif end false for function if in local nil not or repeat return then',
    'true until while assert error ipairs next pairs pcall select tonumber tostring type unpack',
    'bit cjson cmsgpack math redis string struct table',
  ]
    .join(' ')
    .split(' '),
);

/** Names defined in this process, with their Lua: one name is one script. */
const definedNames = new Map<string, string>();

/**
 * Which scripts each connection has registered, and with which Lua. On
 * `globalThis` so that two copies of this module (sources and build) agree.
 */
const registryKey = Symbol.for('@pinnacle/redis-store/redis-script');
const holder = globalThis as { [registryKey]?: WeakMap<object, Map<string, string>> };
holder[registryKey] ??= new WeakMap();
const registry = holder[registryKey];

interface Layout {
  name: string;
  list: boolean;
}

function layoutOf(names: readonly string[], what: string, script: string): Layout[] {
  return names.map((entry) => {
    const list = entry.startsWith('...');
    const name = list ? entry.slice(3) : entry;
    if (!LUA_NAME.test(name) || LUA_RESERVED.has(name)) {
      throw new RedisScriptError(
        'script_name_invalid',
        `Script ${script}: ${what} name "${entry}" is not a camelCase Lua name`,
      );
    }
    return { name, list };
  });
}

/**
 * Lua locals for one of KEYS/ARGV. A single list's length follows from the
 * total; with several, each one's length is passed in ARGV (`countsAt`).
 */
function prologue(
  array: 'KEYS' | 'ARGV',
  layout: Layout[],
  base: number,
  countsAt: number,
): string[] {
  const lists = layout.filter((e) => e.list).length;
  const fixed = layout.length - lists;
  const cursor = array === 'KEYS' ? '_k' : '_a';
  const lines: string[] = [];
  let at: number | null = base; // static index while no list came before
  let listIndex = 0;
  layout.forEach((entry, index) => {
    const position = at === null ? `${cursor} + 1` : String(at + 1);
    if (!entry.list) {
      lines.push(`local ${entry.name} = ${array}[${position}]`);
      if (at !== null) at += 1;
      else if (index < layout.length - 1) lines.push(`${cursor} = ${cursor} + 1`);
      return;
    }
    if (at !== null) lines.push(`local ${cursor} = ${at}`);
    at = null;
    const length =
      lists === 1 ? `#${array} - ${base + fixed}` : `tonumber(ARGV[${countsAt + listIndex + 1}])`;
    lines.push(
      `local ${entry.name} = {}`,
      `for i = 1, ${length} do ${entry.name}[i] = ${array}[${cursor} + i] end`,
      `${cursor} = ${cursor} + #${entry.name}`,
    );
    listIndex += 1;
  });
  return lines;
}

function flatten<V>(
  layout: Layout[],
  values: Record<string, V | readonly V[]>,
  script: string,
): V[] {
  const out: V[] = [];
  for (const { name, list } of layout) {
    const value = values[name];
    if (list) {
      if (!Array.isArray(value)) throw new TypeError(`Script ${script}: ${name} must be a list`);
      out.push(...(value as readonly V[]));
    } else {
      if (value === undefined || Array.isArray(value)) {
        throw new TypeError(`Script ${script}: ${name} must be one value`);
      }
      out.push(value as V);
    }
  }
  return out;
}

function lengths(layout: Layout[], values: Record<string, unknown>): number[] {
  const lists = layout.filter((e) => e.list);
  return lists.length < 2 ? [] : lists.map((e) => (values[e.name] as unknown[]).length);
}

type ScriptCommand = (...args: (string | number | Buffer)[]) => unknown;

/**
 * A Lua script with named keys and arguments, run through ioredis's own
 * `defineCommand` (EVALSHA once Redis knows the script, EVAL on first use
 * per socket and after NOSCRIPT: a restart, a failover, SCRIPT FLUSH; in
 * pipelines and transactions too). Every script of the service goes through
 * here, so they are all called, registered and checked the same way.
 */
export function defineScript<
  const K extends readonly string[],
  const A extends readonly string[],
  R,
>(definition: ScriptDefinition<K, A, R>): RedisScript<K, A, R> {
  const { name } = definition;
  if (!LUA_NAME.test(name)) {
    throw new RedisScriptError('script_name_invalid', `Script name "${name}" is not camelCase`);
  }
  const keyLayout = layoutOf(definition.keys, 'key', name);
  const argLayout = layoutOf(definition.args, 'argument', name);
  const names = [...keyLayout, ...argLayout].map((e) => e.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) {
    throw new RedisScriptError('script_name_invalid', `Script ${name}: "${twice}" is named twice`);
  }
  const keyCounts = keyLayout.filter((e) => e.list).length >= 2;
  const argCounts = argLayout.filter((e) => e.list).length >= 2;
  const keyCountSlots = keyCounts ? keyLayout.filter((e) => e.list).length : 0;
  const countSlots = keyCountSlots + (argCounts ? argLayout.filter((e) => e.list).length : 0);
  const lua = [
    `-- ${name}: keys ${definition.keys.join(', ') || '-'}; args ${definition.args.join(', ') || '-'}`,
    ...prologue('KEYS', keyLayout, 0, 0),
    ...prologue('ARGV', argLayout, countSlots, keyCountSlots),
    definition.lua.trim(),
    '',
  ].join('\n');
  const known = definedNames.get(name);
  if (known !== undefined && known !== lua) {
    throw new RedisScriptError('script_name_taken', `Another script is already named ${name}`);
  }
  definedNames.set(name, lua);

  const parser = definition.parse;
  const parse = (reply: unknown): R =>
    typeof parser === 'function' ? parser(reply) : parser.parse(reply);

  const define = (redis: ScriptConnection): void => {
    let scripts = registry.get(redis);
    if (scripts === undefined) {
      scripts = new Map();
      registry.set(redis, scripts);
    }
    const registered = scripts.get(name);
    if (registered === lua) return;
    if (registered !== undefined || name in redis) {
      throw new RedisScriptError(
        'script_name_taken',
        `${name} is already a command of this client`,
      );
    }
    redis.defineCommand(name, { lua });
    scripts.set(name, lua);
    // With enableAutoPipelining, the client queues this tick's commands on a
    // pipeline that copied its commands when it was made, maybe before this
    // definition: give the pending ones the script, as ioredis's Pipeline
    // constructor does.
    const command = (redis as unknown as Record<string, unknown>)[name];
    const pending = (redis as unknown as { _autoPipelines?: Map<string, Record<string, unknown>> })
      ._autoPipelines;
    for (const pipeline of pending?.values() ?? []) pipeline[name] ??= command;
  };

  const commandArgs = (params: ScriptParams<K, A>): ScriptArg[] => {
    const keyValues = params.keys as Record<string, string | readonly string[]>;
    const argValues = (params.args ?? {}) as Record<string, ScriptArg | readonly ScriptArg[]>;
    const keys = flatten(keyLayout, keyValues, name);
    const args = flatten(argLayout, argValues, name);
    return [
      keys.length,
      ...keys,
      ...(keyCounts ? lengths(keyLayout, keyValues) : []),
      ...(argCounts ? lengths(argLayout, argValues) : []),
      ...args,
    ];
  };

  const run = async (redis: ScriptConnection, params: ScriptParams<K, A>): Promise<R> => {
    define(redis);
    const command = (redis as unknown as Record<string, ScriptCommand>)[name] as ScriptCommand;
    return parse(await command.apply(redis, commandArgs(params)));
  };

  const queue = (pipeline: ChainableCommander, params: ScriptParams<K, A>): ChainableCommander => {
    const command = (pipeline as unknown as Record<string, ScriptCommand | undefined>)[name];
    if (typeof command !== 'function') {
      throw new RedisScriptError(
        'script_not_defined',
        `Script ${name} was not defined on the connection before this pipeline was made`,
      );
    }
    command.apply(pipeline, commandArgs(params));
    return pipeline;
  };

  return Object.defineProperties(run, {
    name: { value: name },
    lua: { value: lua },
    define: { value: define },
    queue: { value: queue },
    parse: { value: parse },
  }) as RedisScript<K, A, R>;
}
