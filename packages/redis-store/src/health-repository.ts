import type { Redis } from 'ioredis';
import { z } from 'zod';
import { orgKeys } from './keys.js';
import { LuaScript } from './lua-script.js';

export const integrationHealthSchema = z.object({
  status: z.enum(['unknown', 'healthy', 'failing']),
  /** The open failure episode: the same code run after run is one episode. */
  openFailure: z
    .object({
      code: z.string(),
      category: z.string(),
      since: z.string(),
      lastSeenAt: z.string(),
      firstRunId: z.string(),
      lastRunId: z.string(),
      count: z.number().int(),
    })
    .nullable(),
  lastRunId: z.string().nullable(),
  lastRunAt: z.string().nullable(),
  lastSuccessfulRunId: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  /**
   * What the health was before the last recorded run, so a retried hand-off
   * of that run learns the same transition (e.g. "this success ends a failure").
   */
  beforeLastRun: z
    .object({
      status: z.enum(['unknown', 'healthy', 'failing']),
      openFailureCode: z.string().nullable(),
    })
    .nullable()
    .default(null),
});
export type IntegrationHealth = z.infer<typeof integrationHealthSchema>;

export const unknownHealth: IntegrationHealth = {
  status: 'unknown',
  openFailure: null,
  lastRunId: null,
  lastRunAt: null,
  lastSuccessfulRunId: null,
  lastSuccessAt: null,
  beforeLastRun: null,
};

export type RunOutcome =
  | { kind: 'succeeded'; runId: string; at: string }
  | { kind: 'failed'; runId: string; at: string; code: string; category: string };

/** Applies a finished run to the health record (pure, so it is easy to test). */
export function applyOutcome(previous: IntegrationHealth, outcome: RunOutcome): IntegrationHealth {
  const base = {
    ...previous,
    lastRunId: outcome.runId,
    lastRunAt: outcome.at,
    beforeLastRun: { status: previous.status, openFailureCode: previous.openFailure?.code ?? null },
  };
  if (outcome.kind === 'succeeded') {
    return {
      ...base,
      status: 'healthy',
      openFailure: null,
      lastSuccessfulRunId: outcome.runId,
      lastSuccessAt: outcome.at,
    };
  }
  const open = previous.openFailure;
  const sameEpisode = open !== null && open.code === outcome.code;
  return {
    ...base,
    status: 'failing',
    openFailure: sameEpisode
      ? { ...open, lastSeenAt: outcome.at, lastRunId: outcome.runId, count: open.count + 1 }
      : {
          code: outcome.code,
          category: outcome.category,
          since: outcome.at,
          lastSeenAt: outcome.at,
          firstRunId: outcome.runId,
          lastRunId: outcome.runId,
          count: 1,
        },
  };
}

// KEYS: health. ARGV: expected json ('' = absent), new json.
const COMPARE_AND_SET = new LuaScript(`
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

export type HealthTransition = {
  before: { status: IntegrationHealth['status']; openFailureCode: string | null };
  next: IntegrationHealth;
};

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
   * Records a finished run; returns the transition it made. Recording the
   * same run again (a retried hand-off) changes nothing and returns the same
   * transition. `read` is an earlier reading to start from (saves a round
   * trip when it is still current; re-read otherwise).
   */
  async record(
    orgId: string,
    outcome: RunOutcome,
    read?: HealthReading,
  ): Promise<HealthTransition> {
    const key = orgKeys(this.prefix, orgId).health;
    let current = read ?? (await this.read(orgId));
    for (let attempt = 0; attempt < 10; attempt++) {
      const previous = current.health;
      // A retried hand-off must not count the same run twice.
      if (previous.lastRunId === outcome.runId && previous.beforeLastRun) {
        return { before: previous.beforeLastRun, next: previous };
      }
      const next = applyOutcome(previous, outcome);
      if (
        (await COMPARE_AND_SET.run(this.redis, [key], [current.raw, JSON.stringify(next)])) === 1
      ) {
        return {
          before: { status: previous.status, openFailureCode: previous.openFailure?.code ?? null },
          next,
        };
      }
      current = await this.read(orgId);
    }
    throw new Error(`Could not record the run outcome of org ${orgId}: too many concurrent writes`);
  }
}
