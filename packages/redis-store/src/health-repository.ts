import { type IntegrationHealth, integrationHealthSchema, unknownHealth } from '@pinnacle/domain';
import { z } from 'zod';
import { orgKeys, type WriteFence } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { defineScript } from './redis-script.js';
import { assertNotFenced, FENCED, fenceArgs, luaFence } from './write-fence.js';

// expected: the json read ('' = absent). Returns 1, 0 when it changed, or FENCED.
const healthCompareAndSet = defineScript({
  name: 'healthCompareAndSet',
  keys: ['health', 'fence'],
  args: ['expected', 'replacement', 'fenced'],
  lua: `
${luaFence('fence', 'fenced')}
local cur = redis.call('GET', health) or ''
if cur ~= expected then return 0 end
redis.call('SET', health, replacement)
return 1
`,
  parse: z.union([z.literal(0), z.literal(1), z.literal(FENCED)]),
});

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
    private readonly redis: RedisClient,
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
    const result = await healthCompareAndSet(this.redis, {
      keys: { health: k.health, fence: f.key },
      args: { expected: expected.raw, replacement: json, fenced: f.flag },
    });
    assertNotFenced(result, orgId);
    return result === 1;
  }
}
