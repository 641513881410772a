import { z } from 'zod';
import { syncFailureSchema } from './failures.js';
import { orgIdSchema, runIdSchema } from './identifiers.js';
import { groupSightingSchema } from './selected-groups.js';

export const runTriggerSchema = z.enum(['manual', 'schedule']);
export type RunTrigger = z.infer<typeof runTriggerSchema>;

export const runStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed']);
export type RunStatus = z.infer<typeof runStatusSchema>;

/** The stage a run is in, or (once finished) the last stage it reached. */
export const runStageSchema = z.enum(['preflight', 'fetch', 'commit']);
export type RunStage = z.infer<typeof runStageSchema>;

export const runWarningSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string().min(1),
});
export type RunWarning = z.infer<typeof runWarningSchema>;

const count = z.number().int().min(0);

/**
 * Counts of a run. The snapshot counts are null until known (a run that
 * failed in preflight has no user count; 0 would read as "no users");
 * the request counters start at 0.
 */
export const runStatsSchema = z.object({
  /** Users in the fetched snapshot. */
  users: count.nullable(),
  /** Selected groups fetched. */
  groups: count.nullable(),
  added: count.nullable(),
  removed: count.nullable(),
  changed: count.nullable(),
  graphRequests: count,
  /** Graph or token requests answered 429/503 (each one retried). */
  throttledRequests: count,
  /**
   * Requests sent to Entra's token endpoint (answers from the token cache
   * are not requests). Records written before it existed read as 0.
   */
  tokenRequests: count.default(0),
});
export type RunStats = z.infer<typeof runStatsSchema>;

export function emptyRunStats(): RunStats {
  return {
    users: null,
    groups: null,
    added: null,
    removed: null,
    changed: null,
    graphRequests: 0,
    throttledRequests: 0,
    tokenRequests: 0,
  };
}

const timestamp = z.iso.datetime({ offset: true });

/** A sync run, as stored and as `GET /orgs/{orgId}/syncs[/{runId}]` returns it. */
export const runSchema = z.object({
  id: runIdSchema,
  orgId: orgIdSchema,
  trigger: runTriggerSchema,
  status: runStatusSchema,
  stage: runStageSchema,
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  /** Job attempts made so far (transient trouble is retried with backoff). */
  attempts: count,
  /** Set when status is `failed`, null otherwise. */
  failure: syncFailureSchema.nullable(),
  warnings: z.array(runWarningSchema),
  stats: runStatsSchema,
  /** The selected groups as this run's preflight found them (absent before preflight checked them). */
  groups: z.array(groupSightingSchema).optional(),
  /** The one-run override of the mass-removal guard this run was started with (audit; absent = false). */
  allowMassRemoval: z.boolean().optional(),
});
export type Run = z.infer<typeof runSchema>;

/** A run as it is recorded before any worker has picked it up. */
export function newQueuedRun(fields: {
  id: string;
  orgId: string;
  trigger: RunTrigger;
  createdAt: Date;
  allowMassRemoval?: boolean | undefined;
}): Run {
  return {
    id: fields.id,
    orgId: fields.orgId,
    trigger: fields.trigger,
    status: 'queued',
    stage: 'preflight',
    createdAt: fields.createdAt.toISOString(),
    startedAt: null,
    finishedAt: null,
    attempts: 0,
    failure: null,
    warnings: [],
    stats: emptyRunStats(),
    ...(fields.allowMassRemoval !== undefined ? { allowMassRemoval: fields.allowMassRemoval } : {}),
  };
}

/** True while a run holds the org's single slot. */
export function isActiveRunStatus(status: RunStatus): boolean {
  return status === 'queued' || status === 'running';
}

/**
 * Body of `POST /orgs/{orgId}/syncs` (Sync Now). The body may be empty (`{}`).
 * `allowMassRemoval` overrides the mass-removal guard for this run only.
 */
export const syncRequestSchema = z.strictObject({
  allowMassRemoval: z.boolean().optional(),
});
export type SyncRequest = z.infer<typeof syncRequestSchema>;

/** The 202 response of Sync Now; `deduplicated` when an active run was returned instead. */
export const syncAcceptedSchema = z.object({
  runId: runIdSchema,
  status: runStatusSchema,
  deduplicated: z.boolean(),
});
export type SyncAccepted = z.infer<typeof syncAcceptedSchema>;
