import { z } from 'zod';
import { runIdSchema } from './identifiers.js';

/*
 * An integration's health and its failure episodes: the one model of "this
 * integration is failing, since when, with which code". Only the worker
 * decides it (`recordRunOutcome`, when a run finishes, under a
 * compare-and-set): it sees an org's runs in the order they really finish,
 * one at a time, while the notifier sees its hand-offs reordered by
 * retries and concurrency. Everyone else reads the decision: the API's sync
 * overview from the record, the notifier from the hand-off that carries it.
 */

export const healthStatusSchema = z.enum(['unknown', 'healthy', 'failing']);
export type HealthStatus = z.infer<typeof healthStatusSchema>;

/**
 * One failure episode: the same failure code, run after run, until a run
 * succeeds or fails with another code. Its first run identifies it.
 */
export const failureEpisodeSchema = z.object({
  code: z.string(),
  category: z.string(),
  /** When its first failed run finished. */
  since: z.string(),
  lastSeenAt: z.string(),
  firstRunId: z.string(),
  lastRunId: z.string(),
  /** Failed runs in it so far. */
  count: z.number().int(),
});
export type FailureEpisode = z.infer<typeof failureEpisodeSchema>;

/**
 * An episode as a hand-off to the notifier names it: which one (its first
 * run), since when, and its failed runs so far, as the worker recorded them.
 */
export const episodeRefSchema = z.object({
  firstRunId: runIdSchema,
  since: z.iso.datetime(),
  count: z.number().int().min(1),
});
export type EpisodeRef = z.infer<typeof episodeRefSchema>;

export function episodeRef(episode: FailureEpisode): EpisodeRef {
  return { firstRunId: episode.firstRunId, since: episode.since, count: episode.count };
}

export const integrationHealthSchema = z.object({
  status: healthStatusSchema,
  /** The open failure episode, null while healthy. */
  openFailure: failureEpisodeSchema.nullable(),
  lastRunId: z.string().nullable(),
  lastRunAt: z.string().nullable(),
  lastSuccessfulRunId: z.string().nullable(),
  lastSuccessAt: z.string().nullable(),
  /**
   * What the health was before the last recorded run, so recording that run
   * again (a retried attempt) learns the same transition.
   */
  beforeLastRun: z
    .object({
      status: healthStatusSchema,
      openFailureCode: z.string().nullable(),
      /** The episode then open (absent in records written before it was kept). */
      openFailure: failureEpisodeSchema.nullable().optional(),
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

/** A finished run, as its health record takes it. */
export type RunOutcome =
  | { kind: 'succeeded'; runId: string; at: string }
  | { kind: 'failed'; runId: string; at: string; code: string; category: string };

/** What a finished run did to the integration's health. */
export type HealthTransition =
  /** A failure with nothing open: a new episode. */
  | { kind: 'opened'; episode: FailureEpisode }
  /** The open episode's code again: the same episode, counted. */
  | { kind: 'repeated'; episode: FailureEpisode }
  /** Another code than the open episode's: that one ends, a new one starts. */
  | { kind: 'replaced'; episode: FailureEpisode }
  /**
   * A success ends the open episode. `closed` is null only for a run recorded
   * by a version that kept nothing but the episode's code.
   */
  | { kind: 'recovered'; previousFailureCode: string; closed: FailureEpisode | null }
  /** A success with nothing open. */
  | { kind: 'healthy' };

export interface RecordedOutcome {
  /** The record to store; the very `previous` object when there is nothing to store. */
  next: IntegrationHealth;
  transition: HealthTransition;
  /** This run was the last one recorded already (a retried attempt): nothing changes. */
  replay: boolean;
}

/**
 * Applies a finished run to the health record. Recording the same run again
 * changes nothing and returns the same transition, read back from the record.
 */
export function recordRunOutcome(
  previous: IntegrationHealth,
  outcome: RunOutcome,
): RecordedOutcome {
  const replay = previous.lastRunId === outcome.runId && previous.beforeLastRun !== null;
  const next = replay ? previous : applyOutcome(previous, outcome);
  return { next, transition: lastTransition(next), replay };
}

function applyOutcome(previous: IntegrationHealth, outcome: RunOutcome): IntegrationHealth {
  const base = {
    ...previous,
    lastRunId: outcome.runId,
    lastRunAt: outcome.at,
    beforeLastRun: {
      status: previous.status,
      openFailureCode: previous.openFailure?.code ?? null,
      openFailure: previous.openFailure,
    },
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

/** The transition the last recorded run made, read from the record it left. */
function lastTransition(health: IntegrationHealth): HealthTransition {
  const before = health.beforeLastRun;
  const open = health.openFailure;
  if (open === null) {
    // The last run succeeded.
    return before?.status === 'failing' && before.openFailureCode !== null
      ? {
          kind: 'recovered',
          previousFailureCode: before.openFailureCode,
          closed: before.openFailure ?? null,
        }
      : { kind: 'healthy' };
  }
  if (open.count > 1) return { kind: 'repeated', episode: open };
  return { kind: before?.openFailureCode ? 'replaced' : 'opened', episode: open };
}
