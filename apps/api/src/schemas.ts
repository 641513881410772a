import {
  authMethodSchema,
  booleanQuerySchema,
  certificateIdSchema,
  certificateStatusSchema,
  certificateViewSchema,
  clientSecretViewSchema,
  cursorSchema,
  directoryUserSchema,
  failureCodeSchema,
  fleetCountsSchema,
  fleetOrgSchema,
  groupSightingSchema,
  healthStatusSchema,
  limitQuerySchema,
  listEnvelopeSchema,
  notificationIdSchema,
  notificationSchema,
  orgIdSchema,
  runChangeKindSchema,
  runIdSchema,
  runSchema,
  runWarningSchema,
  selectedGroupSchema,
  syncFailureSchema,
} from '@pinnacle/domain';
import { z } from 'zod';

/*
 * The request and response shapes of the API that @pinnacle/domain does not
 * already define. Handlers validate with them and the OpenAPI document is
 * generated from them, so the two cannot drift apart.
 */

const timestamp = z.iso.datetime({ offset: true });

// Path parameters.
export const orgParamsSchema = z.strictObject({ orgId: orgIdSchema });
export const runParamsSchema = z.strictObject({ orgId: orgIdSchema, runId: runIdSchema });
export const notificationParamsSchema = z.strictObject({
  orgId: orgIdSchema,
  id: notificationIdSchema,
});
export const certificateParamsSchema = z.strictObject({
  orgId: orgIdSchema,
  id: certificateIdSchema,
});

// Query strings: strict, so a misspelt parameter is a 400 rather than ignored.
export const noQuerySchema = z.strictObject({});
export const pageQuerySchema = z.strictObject({
  limit: limitQuerySchema,
  cursor: cursorSchema.optional(),
});
/** `GET .../syncs/{runId}/changes`: a page, optionally of one kind of change. */
export const runChangesQuerySchema = z.strictObject({
  limit: limitQuerySchema,
  cursor: cursorSchema.optional(),
  change: runChangeKindSchema.optional(),
});
export const notificationsQuerySchema = z.strictObject({
  limit: limitQuerySchema,
  cursor: cursorSchema.optional(),
  unread: booleanQuerySchema.optional(),
});

/** `POST .../notifications/{id}/read` takes no fields; an empty object is allowed. */
export const emptyBodySchema = z.strictObject({});

// Responses.
export const errorResponseSchema = z.object({
  error: z.string(),
  /** Why, when it helps the caller fix the request (e.g. a token claim the service refuses). */
  message: z.string().optional(),
});
/** A 429: DESIGN's body, and which limit refused. */
export const rateLimitedResponseSchema = z.object({
  error: z.literal('rate_limited'),
  /** Names the limit and the wait, for a person. */
  message: z.string(),
  /** As the `Retry-After` header: seconds until the limit lets the request through. */
  retryAfterSeconds: z.number().int().min(1),
  /** `request_rate`: the token's requests a minute; `sync_now_budget`: the org's new runs (Sync Now). */
  limit: z.enum(['request_rate', 'sync_now_budget']),
});
export const validationErrorResponseSchema = z.object({
  error: z.literal('validation_failed'),
  issues: z.array(z.object({ path: z.string(), message: z.string() })),
});

export const runListSchema = listEnvelopeSchema(runSchema);
/** `GET .../integration/certificates`: every certificate of the org, newest first, in one page. */
export const certificateListSchema = listEnvelopeSchema(certificateViewSchema);
export const notificationListSchema = listEnvelopeSchema(notificationSchema).extend({
  /** Unread notifications in the whole inbox, whatever the page or filter. */
  unreadCount: z.number().int().min(0),
});
/** `POST /orgs/{orgId}/notifications/read-all`. */
export const markAllReadResponseSchema = z.object({
  /** How many were unread and are now read. */
  markedRead: z.number().int().min(0),
});

/** `GET /orgs`: one org with an integration (room for more fields, e.g. its health). */
export const orgSummarySchema = z.object({ orgId: orgIdSchema });
export const orgListSchema = listEnvelopeSchema(orgSummarySchema);
export const directoryUserListSchema = listEnvelopeSchema(directoryUserSchema);

/** The integration's health, as the worker records it. */
export const integrationHealthStatusSchema = healthStatusSchema;

/** `GET /orgs/{orgId}/sync-overview`: the integration's state at a glance. */
export const syncOverviewSchema = z.object({
  orgId: orgIdSchema,
  /** Whether integration settings have been saved. */
  configured: z.boolean(),
  status: integrationHealthStatusSchema,
  /** The run queued or running now. */
  currentRun: runSchema.nullable(),
  /** The newest finished run. */
  lastRun: runSchema.nullable(),
  lastSuccessfulRun: runSchema.nullable(),
  lastSuccessAt: timestamp.nullable(),
  /** The failure episode still open: the same code run after run. */
  openFailure: z
    .object({
      code: z.string(),
      category: z.string(),
      since: timestamp,
      lastSeenAt: timestamp,
      count: z.number().int().min(1),
      firstRunId: z.string(),
      lastRunId: z.string(),
    })
    .nullable(),
  schedule: z.object({ enabled: z.boolean(), every: z.string() }).nullable(),
  /** Null when the schedule is disabled (or there is no integration). */
  nextScheduledRunAt: timestamp.nullable(),
  clientSecret: clientSecretViewSchema.extend({
    /** Whole days until expiry; negative once expired; null when no expiry is recorded. */
    daysLeft: z.number().int().nullable(),
    expired: z.boolean(),
  }),
  /** How the service authenticates; null when there is no integration. */
  authMethod: authMethodSchema.nullable(),
  /**
   * The certificate that matters: the one Entra accepts (else the newest not
   * retired); null when the org has none. Shown whatever the method, so a
   * switch can be prepared.
   */
  certificate: z
    .object({
      id: z.string(),
      thumbprint: z.string(),
      thumbprintSha256: z.string(),
      status: certificateStatusSchema,
      notAfter: timestamp,
      /** Whole days until `notAfter`; negative once expired. */
      daysLeft: z.number().int(),
      expired: z.boolean(),
    })
    .nullable(),
  /**
   * The selected groups with the names the latest preflight saw; a group
   * that no longer exists keeps its last name, marked `missing`. A group no
   * preflight has checked yet has no name and `lastSeenAt` null.
   */
  groups: z.array(selectedGroupSchema),
});
export type SyncOverview = z.infer<typeof syncOverviewSchema>;

export const healthzResponseSchema = z.object({ status: z.literal('ok') });
export const readyzResponseSchema = z.object({
  status: z.enum(['ready', 'unavailable', 'shutting_down']),
});

/** `GET /orgs/{orgId}/entra/groups?search=`: a name to look for (Graph's `$search` words). */
export const groupSearchQuerySchema = z.strictObject({
  search: z.string().trim().min(1, 'must not be empty').max(120, 'must be at most 120 characters'),
});
/** A group of the tenant as Graph names it. */
export const entraGroupSchema = z.object({ id: z.string(), displayName: z.string().nullable() });
export const entraGroupListSchema = z.object({ items: z.array(entraGroupSchema) });

/**
 * A check against Entra ID with the org's stored settings could not be
 * made: `entra_check_failed` (409: settings, credentials or consent; fix
 * them) or `entra_unreachable` (502: Entra ID or Graph did not answer;
 * retry). `failure` is the run's failure shape: code, title, message,
 * remediation.
 */
export const entraCheckErrorSchema = z.object({
  error: z.enum(['entra_check_failed', 'entra_unreachable']),
  message: z.string(),
  failure: syncFailureSchema,
});

/**
 * `POST /orgs/{orgId}/integration/test`: the preflight's answer. Ready
 * (`ok`), with the selected groups by the names Graph gave and any
 * warnings; or the failure a sync would stop with. `groups` is what the
 * group check saw (null when the preflight stopped before it).
 */
export const connectionTestSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    checkedAt: timestamp,
    groups: z.array(groupSightingSchema),
    warnings: z.array(runWarningSchema),
  }),
  z.object({
    ok: z.literal(false),
    checkedAt: timestamp,
    failure: syncFailureSchema,
    groups: z.array(groupSightingSchema).nullable(),
    warnings: z.array(runWarningSchema),
  }),
]);
export type ConnectionTest = z.infer<typeof connectionTestSchema>;

/** `GET /ops/orgs`: filters and paging of the fleet view. */
export const fleetQuerySchema = z.strictObject({
  status: healthStatusSchema.optional(),
  code: failureCodeSchema.optional(),
  limit: limitQuerySchema,
  cursor: cursorSchema.optional(),
});
/** `GET /ops/orgs`: a page of orgs (by org ID) and counts over the whole fleet. */
export const fleetListSchema = listEnvelopeSchema(fleetOrgSchema).extend({
  counts: fleetCountsSchema,
  /** The time stale flags and days left were computed at. */
  generatedAt: timestamp,
});
export type FleetList = z.infer<typeof fleetListSchema>;
