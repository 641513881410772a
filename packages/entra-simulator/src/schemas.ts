import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { GUID_PATTERN } from './ids.js';

/** Seeded tenants are capped here: beyond it, demo and bench data stop being useful. */
export const MAX_SEEDED_USERS = 1_000_000;

const guid = z.string().regex(GUID_PATTERN, 'must be a GUID');
const domainName = z
  .string()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i,
    'must be a DNS domain name',
  );

export const clientSecretSchema = z.object({
  /** The secret's ID as the portal shows it (not the value). */
  keyId: guid,
  value: z.string().min(1),
  expiresAt: z.coerce.date(),
});

/**
 * A certificate uploaded to the app (its public part only, as Entra keeps
 * it): client assertions signed with the matching private key authenticate
 * the app.
 */
export const applicationCertificateSchema = z.object({
  /** The credential's ID as Graph's `keyCredentials` names it. */
  keyId: guid.default(() => randomUUID()),
  /** PEM, or the base64 of the DER (what a .cer upload holds). */
  certificatePem: z.string().min(1).max(20_000),
  /** Default: the certificate's subject. */
  displayName: z.string().min(1).max(200).optional(),
});

export const applicationSchema = z.object({
  appId: guid,
  displayName: z.string().min(1).default('Pinnacle Entra Sync'),
  /** Application permissions on Microsoft Graph granted by admin consent. */
  roles: z.array(z.string().min(1)).default([]),
  secrets: z.array(clientSecretSchema).default([]),
  certificates: z.array(applicationCertificateSchema).default([]),
});

export const fixtureUserSchema = z.object({
  id: guid,
  displayName: z.string().min(1),
  givenName: z.string().nullable().default(null),
  surname: z.string().nullable().default(null),
  mail: z.string().nullable().default(null),
  userPrincipalName: z.string().min(3),
  accountEnabled: z.boolean().default(true),
});

export const fixtureGroupSchema = z.object({
  id: guid,
  displayName: z.string().min(1),
  description: z.string().nullable().default(null),
  /** IDs of users that are direct members. */
  members: z.array(guid).default([]),
  /** IDs of groups that are direct members (nesting; cycles are allowed). */
  memberGroups: z.array(guid).default([]),
});

/** An access token's lifetime: Entra's configurable range is 10 minutes to a day; shorter is for tests. */
const tokenLifetimeSeconds = z.number().int().min(1).max(86_400);

const tenantCommon = {
  displayName: z.string().min(1),
  /** Verified domains; the first is the initial (default) domain. */
  domains: z.array(domainName).min(1),
  applications: z.array(applicationSchema).default([]),
  /** Lifetime of the tenant's access tokens; default: the simulator's. */
  tokenLifetimeSeconds: tokenLifetimeSeconds.optional(),
};

/** A tenant spelled out object by object. */
export const tenantFixtureSchema = z
  .object({
    kind: z.literal('fixture'),
    tenantId: guid,
    ...tenantCommon,
    users: z.array(fixtureUserSchema).default([]),
    groups: z.array(fixtureGroupSchema).default([]),
  })
  .superRefine((t, ctx) => {
    const userIds = new Set(t.users.map((u) => u.id.toLowerCase()));
    const groupIds = new Set(t.groups.map((g) => g.id.toLowerCase()));
    if (userIds.size !== t.users.length) {
      ctx.addIssue({ code: 'custom', path: ['users'], message: 'user IDs must be unique' });
    }
    if (groupIds.size !== t.groups.length) {
      ctx.addIssue({ code: 'custom', path: ['groups'], message: 'group IDs must be unique' });
    }
    t.groups.forEach((g, gi) => {
      g.members.forEach((m, mi) => {
        if (!userIds.has(m.toLowerCase())) {
          ctx.addIssue({
            code: 'custom',
            path: ['groups', gi, 'members', mi],
            message: `no user with ID ${m}`,
          });
        }
      });
      g.memberGroups.forEach((m, mi) => {
        if (!groupIds.has(m.toLowerCase())) {
          ctx.addIssue({
            code: 'custom',
            path: ['groups', gi, 'memberGroups', mi],
            message: `no group with ID ${m}`,
          });
        }
      });
    });
  });

export const seededGroupSchema = z.object({
  /** Name used to refer to the group inside the spec; its ID derives from seed + key. */
  key: z.string().min(1),
  displayName: z.string().min(1),
  description: z.string().nullable().default(null),
  /** Direct user members as index ranges over the generated users. */
  userRanges: z
    .array(z.object({ start: z.number().int().min(0), count: z.number().int().min(0) }))
    .default([]),
  /** Keys of groups that are direct members (nesting; cycles are allowed). */
  memberGroups: z.array(z.string()).default([]),
});

/** A tenant generated from a seed; users are computed on demand, never stored. */
export const seededTenantSchema = z
  .object({
    kind: z.literal('seeded'),
    seed: z.string().min(1),
    /** Defaults to a GUID derived from the seed. */
    tenantId: guid.optional(),
    ...tenantCommon,
    userCount: z.number().int().min(0).max(MAX_SEEDED_USERS),
    /** Share of users with accountEnabled false, chosen deterministically. */
    disabledShare: z.number().min(0).max(1).default(0.05),
    groups: z.array(seededGroupSchema).default([]),
  })
  .superRefine((t, ctx) => {
    const keys = new Set(t.groups.map((g) => g.key));
    if (keys.size !== t.groups.length) {
      ctx.addIssue({ code: 'custom', path: ['groups'], message: 'group keys must be unique' });
    }
    t.groups.forEach((g, gi) => {
      g.userRanges.forEach((r, ri) => {
        if (r.start + r.count > t.userCount) {
          ctx.addIssue({
            code: 'custom',
            path: ['groups', gi, 'userRanges', ri],
            message: `range ends past userCount (${t.userCount})`,
          });
        }
      });
      g.memberGroups.forEach((k, ki) => {
        if (!keys.has(k)) {
          ctx.addIssue({
            code: 'custom',
            path: ['groups', gi, 'memberGroups', ki],
            message: `no group with key ${k}`,
          });
        }
      });
    });
  });

export const tenantInputSchema = z.discriminatedUnion('kind', [
  tenantFixtureSchema,
  seededTenantSchema,
]);

export type ClientSecret = z.infer<typeof clientSecretSchema>;
export type ApplicationCertificate = z.infer<typeof applicationCertificateSchema>;
export type ApplicationCertificateInput = z.input<typeof applicationCertificateSchema>;
export type Application = z.infer<typeof applicationSchema>;
export type FixtureUser = z.infer<typeof fixtureUserSchema>;
export type FixtureGroup = z.infer<typeof fixtureGroupSchema>;
export type TenantFixture = z.infer<typeof tenantFixtureSchema>;
export type SeededTenantSpec = z.infer<typeof seededTenantSchema>;
export type TenantInput = z.input<typeof tenantInputSchema>;
export type ParsedTenantInput = z.infer<typeof tenantInputSchema>;

/** "Only the next N matching requests" or "every Kth matching request". */
const cadence = {
  count: z.number().int().min(1).optional(),
  every: z.number().int().min(1).optional(),
};
const oneCadence = (v: { count?: number | undefined; every?: number | undefined }) =>
  (v.count === undefined) !== (v.every === undefined);
const cadenceMessage = { message: 'give exactly one of count or every' };

const retryAfterSeconds = z.number().int().min(0).max(3600).default(1);

/**
 * Faults for one tenant. Setting faults replaces the tenant's previous set;
 * counters (count/every/afterRequests) start from the moment they are set and
 * count Graph requests authenticated for that tenant.
 */
export const faultSpecSchema = z.object({
  /** 429 Too Many Requests with Retry-After. */
  throttle: z
    .object({ ...cadence, retryAfterSeconds })
    .refine(oneCadence, cadenceMessage)
    .optional(),
  /** 503 Service Unavailable with Retry-After. */
  unavailable: z
    .object({ ...cadence, retryAfterSeconds })
    .refine(oneCadence, cadenceMessage)
    .optional(),
  /** 500 Internal Server Error. */
  serverError: z.object(cadence).refine(oneCadence, cadenceMessage).optional(),
  /** Added before every Graph response of the tenant (in a `$batch`, before each inner response). */
  latencyMs: z.number().int().min(0).max(60_000).optional(),
  /** Added before every response of the tenant's Entra endpoints (metadata discovery and token). */
  entraLatencyMs: z.number().int().min(0).max(60_000).optional(),
  /**
   * Each delay (`latencyMs`, `entraLatencyMs`) drawn evenly from the latency
   * plus or minus this much (never below 0), by request number from
   * `latencySeed` (default 1): the same spec gives the same sequence of delays.
   */
  latencyJitterMs: z.number().int().min(0).max(60_000).optional(),
  latencySeed: z.number().int().min(0).max(0xffffffff).optional(),
  /** Sends the status line, headers and part of the body, then destroys the socket. */
  resetConnection: z
    .object({ ...cadence, afterBytes: z.number().int().min(0).optional() })
    .refine(oneCadence, cadenceMessage)
    .optional(),
  /** Groups that disappear: immediately (afterRequests 0) or after N more Graph requests. */
  deleteGroups: z
    .array(z.object({ groupId: guid, afterRequests: z.number().int().min(0).default(0) }))
    .optional(),
  /** Secrets count as expired from now on (all apps, or one). */
  expireSecrets: z.object({ appId: guid.optional() }).optional(),
  /** Admin consent revoked: new tokens carry no roles (all apps, or one). */
  revokeConsent: z.object({ appId: guid.optional() }).optional(),
  /** New tokens carry exactly these roles (all apps, or one). */
  replaceRoles: z.object({ appId: guid.optional(), roles: z.array(z.string()) }).optional(),
  /** The app's service principal is disabled: token requests fail with AADSTS7000112 (all apps, or one). */
  disableApp: z.object({ appId: guid.optional() }).optional(),
  /** A Conditional Access policy for workload identities blocks the app: AADSTS53003 (all apps, or one). */
  blockByConditionalAccess: z.object({ appId: guid.optional() }).optional(),
  /**
   * Entra's endpoints for the tenant (metadata discovery and the token
   * endpoint) answer 503 `temporarily_unavailable` (AADSTS90033) with
   * Retry-After; counted over those requests.
   */
  entraUnavailable: z
    .object({ ...cadence, retryAfterSeconds })
    .refine(oneCadence, cadenceMessage)
    .optional(),
  /**
   * Any Graph status, for what the other faults do not cover (408, 502, 504,
   * a 404 from something that is not Graph...): with `code`, Graph's JSON
   * error body carrying it; without, an HTML page as a proxy or gateway
   * would answer. Checked after the others.
   */
  graphError: z
    .object({
      ...cadence,
      status: z.number().int().min(400).max(599),
      code: z.string().min(1).max(64).optional(),
      retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    })
    .refine(oneCadence, cadenceMessage)
    .optional(),
  /**
   * Any AADSTS answer at the token endpoint (not discovery), counted over the
   * tenant's token requests: an unmapped code (authentication_failed), a
   * transient one (90006, 90055...), a 429 or 5xx.
   */
  tokenError: z
    .object({
      ...cadence,
      status: z.number().int().min(400).max(599).default(400),
      error: z
        .string()
        .regex(/^[a-z_]{1,64}$/)
        .default('invalid_request'),
      code: z.number().int().min(1),
      retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    })
    .refine(oneCadence, cadenceMessage)
    .optional(),
  /**
   * Every access token issued so far stops working (Graph answers 401 as for
   * an expired token) once N more Graph requests have been served; 0: at once.
   */
  invalidateTokens: z.object({ afterRequests: z.number().int().min(0) }).optional(),
});

export type FaultSpecInput = z.input<typeof faultSpecSchema>;
export type FaultSpec = z.infer<typeof faultSpecSchema>;

/**
 * Where an unknown tenant fails. `metadata_discovery`: Entra's answer to
 * `GET /{tenant}/v2.0/.well-known/openid-configuration` (400 invalid_tenant,
 * AADSTS90002), which MSAL reads first for any authority that is not
 * Microsoft's own. `token_endpoint`: the discovery document is served for any
 * tenant, so the token request fails instead, as against
 * login.microsoftonline.com (where MSAL uses built-in metadata).
 */
export const unknownTenantModeSchema = z.enum(['metadata_discovery', 'token_endpoint']);
export type UnknownTenantMode = z.infer<typeof unknownTenantModeSchema>;

/**
 * A client assertion whose `jti` was seen before (within its lifetime):
 * `accept` as Entra does (MSAL signs one assertion per client application
 * and sends it again for ten minutes, see client-assertion.ts), `refuse`
 * for a test that wants each assertion used once.
 */
export const clientAssertionReplaySchema = z.enum(['accept', 'refuse']);
export type ClientAssertionReplay = z.infer<typeof clientAssertionReplaySchema>;

/** Simulator-wide behaviour, changeable while it runs (PATCH semantics). */
export const simulatorSettingsSchema = z.strictObject({
  /** Clock skew Graph tolerates past a token's `exp` (and before `nbf`); Graph's is 300 s. */
  clockSkewSeconds: z.number().int().min(0).max(3600),
  /** Lifetime of access tokens of tenants that set none. */
  tokenLifetimeSeconds,
  unknownTenantFailsAt: unknownTenantModeSchema,
  /**
   * How far Entra's clock is ahead of this machine's when it checks a client
   * assertion's `nbf` and `exp` (negative: behind). Plays a service whose
   * clock is wrong: past the assertion's ten minutes, AADSTS700024.
   */
  entraClockOffsetSeconds: z.number().int().min(-86_400).max(86_400),
  clientAssertionReplay: clientAssertionReplaySchema,
});
export type SimulatorSettings = z.infer<typeof simulatorSettingsSchema>;
export const simulatorSettingsPatchSchema = simulatorSettingsSchema.partial();
export type SimulatorSettingsPatch = z.infer<typeof simulatorSettingsPatchSchema>;

/** One tenant's behaviour, changeable while it runs (PATCH semantics). */
export const tenantSettingsSchema = z.strictObject({
  /** Lifetime of the tenant's access tokens; null: the simulator's. */
  tokenLifetimeSeconds: tokenLifetimeSeconds.nullable(),
});
export type TenantSettings = z.infer<typeof tenantSettingsSchema>;
export const tenantSettingsPatchSchema = tenantSettingsSchema.partial();
export type TenantSettingsPatch = z.infer<typeof tenantSettingsPatchSchema>;
