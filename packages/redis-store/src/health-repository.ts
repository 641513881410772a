import { type IntegrationHealth, integrationHealthSchema, unknownHealth } from '@pinnacle/domain';
import type { Redis } from 'ioredis';
import { orgKeys, type WriteFence } from './keys.js';
import { LuaScript } from './lua-script.js';
import { assertNotFenced, fenceArgs, luaFence } from './write-fence.js';

// KEYS: health, fence. ARGV: expected json ('' = absent), new json, fenced (1|0).
const COMPARE_AND_SET = new LuaScript(`
${luaFence('KEYS[2]', 'ARGV[3]')}
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`);

/** The health as read, with its raw form: the token of a compare-and-set. */
export interface HealthReading {
  raw: string;
  health: IntegrationHealth;
}

/**
 * Each org's integration health record (the model and its transitions are
 * `@pinnacle/domain`'s; the worker decides them). Stored whole, replaced
 * only over the reading it was decided from.
 */
export class HealthRepository {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async get(orgId: string): Promise<IntegrationHealth> {
    return (await this.read(orgId)).health;
  }

  async read(orgId: string): Promise<HealthReading> {
    const raw = (await this.redis.get(orgKeys(this.prefix, orgId).health)) ?? '';
    return { raw, health: raw ? integrationHealthSchema.parse(JSON.parse(raw)) : unknownHealth };
  }

  /**
   * Stores `next` if the record is still what `expected` read; false when it
   * changed meanwhile (read again and decide again). With a fence (the run
   * recording its outcome), throws OrgOffboardedError once the run is gone.
   */
  async compareAndSet(
    orgId: string,
    expected: HealthReading,
    next: IntegrationHealth,
    fence?: WriteFence,
  ): Promise<boolean> {
    const json = JSON.stringify(integrationHealthSchema.parse(next));
    const k = orgKeys(this.prefix, orgId);
    const f = fenceArgs(k, fence, k.health);
    const result = await COMPARE_AND_SET.run(
      this.redis,
      [k.health, f.key],
      [expected.raw, json, f.flag],
    );
    assertNotFenced(result, orgId);
    return result === 1;
  }
}
