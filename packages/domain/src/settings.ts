import { z } from 'zod';
import { type AuthMethod, authMethodSchema } from './certificates.js';
import { guidSchema, orgIdSchema, tenantIdSchema } from './identifiers.js';
import { DEFAULT_SCHEDULE_EVERY, scheduleEverySchema } from './schedule.js';

export const MAX_GROUPS = 100;
export const MAX_RECIPIENTS = 50;
export const MIN_CLIENT_SECRET_LENGTH = 8;
export const MAX_CLIENT_SECRET_LENGTH = 512;
/** Characters shown of a stored secret (its last ones). */
export const SECRET_HINT_LENGTH = 3;

/**
 * A client secret value. Entra generates secrets of visible ASCII (about 40
 * characters), so anything else (spaces, control characters, zero-width or
 * other non-ASCII characters picked up by a copy from a web page) is refused
 * with a clear message instead of failing later as AADSTS7000215. At least
 * 8 characters so the 3-character hint never gives away a meaningful share.
 * Messages never quote the value.
 */
export const clientSecretSchema = z
  .string()
  .max(MAX_CLIENT_SECRET_LENGTH * 2, `must be at most ${MAX_CLIENT_SECRET_LENGTH} characters`)
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_CLIENT_SECRET_LENGTH, `must be at most ${MAX_CLIENT_SECRET_LENGTH} characters`)
  .refine((s) => /^[\x21-\x7e]*$/.test(s), {
    message:
      'must contain only visible ASCII characters (copy the Value column of the client secret in Entra ID)',
  })
  .refine((s) => s.length >= MIN_CLIENT_SECRET_LENGTH, {
    message: `must be at least ${MIN_CLIENT_SECRET_LENGTH} characters`,
  });

/** The last characters of a secret, shown so admins can tell which one is stored. */
export function secretHint(secret: string): string {
  return secret.slice(-SECRET_HINT_LENGTH);
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/** The written date exists (Date.parse would roll 2027-02-30 over to 2 March). */
function isRealCalendarDate(s: string): boolean {
  const [y, m, d] = s.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * An expiry instant. ISO 8601 with a time and an offset (`Z` or `+02:00`),
 * or a bare date as the Entra admin center shows it, read as 00:00 UTC that
 * day (the earlier reading, so warnings are never late). Normalised to
 * `toISOString()` form. A past date is accepted: recording an already expired
 * secret is how `client_secret_expired` is reported before any token request.
 */
export const expiryDateTimeSchema = z
  .string()
  .max(40)
  .trim()
  .refine((s) => DATE_ONLY.test(s) || z.iso.datetime({ offset: true }).safeParse(s).success, {
    message: 'must be an ISO 8601 date-time such as 2026-12-31T00:00:00Z',
  })
  .transform((s, ctx) => {
    const ms = Date.parse(DATE_ONLY.test(s) ? `${s}T00:00:00Z` : s);
    const year = new Date(ms).getUTCFullYear();
    if (!Number.isFinite(ms) || !isRealCalendarDate(s) || year < 2000 || year > 2999) {
      ctx.addIssue({ code: 'custom', message: 'must be a real date between 2000 and 2999' });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  });

/**
 * An email recipient. Checked on the raw value before trimming so a CR/LF (or
 * any control character) anywhere is refused, never silently cut off: those
 * are how header injection gets into a To: line. Also refused: `,` `;` `<` `>`
 * quotes and spaces, which would let one entry smuggle in more addresses.
 */
export const emailRecipientSchema = z
  .string()
  .max(320)
  .refine((s) => !/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(s), {
    message: 'must not contain line breaks or control characters',
    abort: true,
  })
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .refine((s) => !/[\s,;<>"'()[\]\\]/.test(s), {
    message: 'must be a single plain email address such as admin@contoso.com',
  })
  .pipe(z.email({ error: 'must be a valid email address such as admin@contoso.com' }));

const uniqueGroupIds = z
  .array(guidSchema)
  .max(MAX_GROUPS * 2, `at most ${MAX_GROUPS} groups`)
  // guidSchema lower-cases, so this removes case-insensitive duplicates.
  .transform((ids) => [...new Set(ids)])
  .refine((ids) => ids.length <= MAX_GROUPS, { message: `at most ${MAX_GROUPS} groups` });

export const scheduleSettingsSchema = z.strictObject({
  enabled: z.boolean(),
  every: scheduleEverySchema.default(DEFAULT_SCHEDULE_EVERY),
});
export type ScheduleSettings = z.infer<typeof scheduleSettingsSchema>;

export const emailNotificationSettingsSchema = z
  .strictObject({
    enabled: z.boolean(),
    recipients: z
      .array(emailRecipientSchema)
      .max(MAX_RECIPIENTS * 2, `at most ${MAX_RECIPIENTS} recipients`)
      .transform((list) => [...new Set(list)])
      .refine((list) => list.length <= MAX_RECIPIENTS, {
        message: `at most ${MAX_RECIPIENTS} recipients`,
      })
      .default([]),
  })
  .superRefine((email, ctx) => {
    if (email.enabled && email.recipients.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['recipients'],
        message: 'at least one recipient is required when email notifications are enabled',
      });
    }
  });

export const notificationSettingsSchema = z.strictObject({
  email: emailNotificationSettingsSchema,
});
export type NotificationSettings = z.infer<typeof notificationSettingsSchema>;

export const DEFAULT_MASS_REMOVAL_GUARD = { maxRemovedPercent: 20, minRemovedUsers: 10 } as const;

/**
 * The mass-removal guard: a commit is blocked when it would remove more than
 * `maxRemovedPercent`% of the synced users AND more than `minRemovedUsers`
 * (so small orgs are not blocked for a handful of leavers).
 */
export const massRemovalGuardSchema = z.strictObject({
  maxRemovedPercent: z
    .number()
    .min(0)
    .max(100)
    .default(DEFAULT_MASS_REMOVAL_GUARD.maxRemovedPercent),
  minRemovedUsers: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(DEFAULT_MASS_REMOVAL_GUARD.minRemovedUsers),
});
export type MassRemovalGuard = z.infer<typeof massRemovalGuardSchema>;

/**
 * Body of `PUT /orgs/{orgId}/integration` (create or replace). Strict at
 * every level: an unknown field is a 400, not silently dropped.
 *
 * Drafts are allowed: the portal may save before the admin has everything,
 * so `tenantId`, `clientId` and `clientSecret` may be absent and `groupIds`
 * empty. Preflight then fails with `settings_incomplete` or
 * `groups_not_configured`, which is how those codes are reachable.
 * Omitted `clientSecret` keeps the stored one; `clientSecretExpiresAt` is
 * required with a new secret, and alone it corrects the stored secret's
 * recorded expiry. `schedule` defaults to disabled (`every` "1d"): a draft
 * must not start failing on a timer; `notifications` to email off.
 * `authMethod` omitted keeps the stored method (`client_secret` for a new
 * integration), so a client that does not know it never switches an org
 * back from certificates; with `certificate` no client secret is needed.
 */
export const integrationSettingsInputSchema = z
  .strictObject({
    tenantId: tenantIdSchema.optional(),
    clientId: guidSchema.optional(),
    clientSecret: clientSecretSchema.optional(),
    clientSecretExpiresAt: expiryDateTimeSchema.optional(),
    groupIds: uniqueGroupIds.default([]),
    schedule: scheduleSettingsSchema.default({ enabled: false, every: DEFAULT_SCHEDULE_EVERY }),
    notifications: notificationSettingsSchema.default({
      email: { enabled: false, recipients: [] },
    }),
    /** Disabled Entra accounts are left out of the snapshot unless this is true. */
    includeDisabledUsers: z.boolean().default(false),
    massRemovalGuard: massRemovalGuardSchema.default({ ...DEFAULT_MASS_REMOVAL_GUARD }),
    authMethod: authMethodSchema.optional(),
  })
  .superRefine((input, ctx) => {
    if (input.clientSecret !== undefined && input.clientSecretExpiresAt === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecretExpiresAt'],
        message: 'is required when clientSecret is given (the Expires date shown in Entra ID)',
      });
    }
  });
export type IntegrationSettingsInput = z.infer<typeof integrationSettingsInputSchema>;

/** Body of `PUT /orgs/{orgId}/integration/client-secret`: replaces the secret only. */
export const clientSecretRotationSchema = z.strictObject({
  clientSecret: clientSecretSchema,
  expiresAt: expiryDateTimeSchema,
});
export type ClientSecretRotation = z.infer<typeof clientSecretRotationSchema>;

/** The secret as the API shows it: never the value. */
export const clientSecretViewSchema = z.object({
  configured: z.boolean(),
  /** Last 3 characters of the stored secret; null when none is stored. */
  hint: z.string().nullable(),
  expiresAt: z.iso.datetime({ offset: true }).nullable(),
});
export type ClientSecretView = z.infer<typeof clientSecretViewSchema>;

/** The `GET /orgs/{orgId}/integration` response. */
export const integrationSettingsViewSchema = z.object({
  orgId: orgIdSchema,
  tenantId: z.string().nullable(),
  clientId: z.string().nullable(),
  clientSecret: clientSecretViewSchema,
  groupIds: z.array(z.string()),
  schedule: z.object({ enabled: z.boolean(), every: z.string() }),
  notifications: z.object({
    email: z.object({ enabled: z.boolean(), recipients: z.array(z.string()) }),
  }),
  includeDisabledUsers: z.boolean(),
  massRemovalGuard: z.object({ maxRemovedPercent: z.number(), minRemovedUsers: z.number() }),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  /** How the service authenticates: the client secret, or the org's newest certificate Entra accepts. */
  authMethod: authMethodSchema,
});
export type IntegrationSettingsView = z.infer<typeof integrationSettingsViewSchema>;

/** The method a stored record uses (records from before certificates have none: the secret). */
export function authMethodOf(stored: { authMethod?: string | null | undefined }): AuthMethod {
  return stored.authMethod === 'certificate' ? 'certificate' : 'client_secret';
}
