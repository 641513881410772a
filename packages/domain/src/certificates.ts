import { z } from 'zod';

/**
 * How the service authenticates to Entra ID for an org: the client secret
 * the admin pasted, or a certificate the service made (its private key never
 * leaves the service; the admin uploads only the public certificate).
 */
export const authMethodSchema = z.enum(['client_secret', 'certificate']);
export type AuthMethod = z.infer<typeof authMethodSchema>;
/** What every integration saved before certificates existed uses. */
export const DEFAULT_AUTH_METHOD: AuthMethod = 'client_secret';

/**
 * - `pending`: made, not yet accepted by Entra (not uploaded yet, or no sync since);
 * - `active`: Entra has accepted it;
 * - `retired`: superseded by a newer certificate Entra accepted, or retired by
 *   an admin; its private key is deleted, it is never used again.
 */
export const certificateStatusSchema = z.enum(['pending', 'active', 'retired']);
export type CertificateStatus = z.infer<typeof certificateStatusSchema>;

export const MIN_CERTIFICATE_VALIDITY_DAYS = 30;
export const MAX_CERTIFICATE_VALIDITY_DAYS = 730;
export const DEFAULT_CERTIFICATE_VALIDITY_DAYS = 365;
/** Certificates an org may hold that are not retired: enough for a rotation or two. */
export const MAX_UNRETIRED_CERTIFICATES = 5;

/** A certificate's ID (a GUID the service makes), as a path parameter: one clear reason when not. */
export const certificateIdSchema = z
  .string()
  .regex(
    /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    'must be a certificate ID (a GUID)',
  )
  .transform((s) => s.toLowerCase());

/** Body of `POST /orgs/{orgId}/integration/certificates` (optional: `{}` takes the default). */
export const certificateCreateInputSchema = z.strictObject({
  validityDays: z
    .number()
    .int('must be a whole number of days')
    .min(MIN_CERTIFICATE_VALIDITY_DAYS, `must be at least ${MIN_CERTIFICATE_VALIDITY_DAYS} days`)
    .max(MAX_CERTIFICATE_VALIDITY_DAYS, `must be at most ${MAX_CERTIFICATE_VALIDITY_DAYS} days`)
    .default(DEFAULT_CERTIFICATE_VALIDITY_DAYS),
});
export type CertificateCreateInput = z.infer<typeof certificateCreateInputSchema>;

const timestamp = z.iso.datetime({ offset: true });

/** A certificate as the API shows it: public parts only, never the private key. */
export const certificateViewSchema = z.object({
  id: z.string(),
  subject: z.string(),
  /** SHA-1 of the DER, upper-case hex, as the Entra admin center shows it. */
  thumbprint: z.string(),
  /** SHA-256 of the DER, upper-case hex. */
  thumbprintSha256: z.string(),
  notBefore: timestamp,
  notAfter: timestamp,
  status: certificateStatusSchema,
  createdAt: timestamp,
  /** When Entra first accepted it; null while pending. */
  activatedAt: timestamp.nullable(),
  retiredAt: timestamp.nullable(),
  /** The public certificate, PEM (the same as `.../certificate.cer`, which is DER). */
  certificatePem: z.string(),
});
export type CertificateView = z.infer<typeof certificateViewSchema>;

/** The subject of an org's certificate: names the platform and the org. */
export function certificateSubject(orgId: string): {
  commonName: string;
  organizationName: string;
} {
  return {
    commonName: `Pinnacle Series Entra ID sync (${orgId})`,
    organizationName: 'Pinnacle Series',
  };
}

/** The `.cer` file name a download gets. */
export function certificateFileName(orgId: string, thumbprint: string): string {
  return `pinnacle-entra-sync-${orgId}-${thumbprint.slice(0, 8).toLowerCase()}.cer`;
}

/** What the rules below need to know of a certificate. */
export interface CertificateState {
  id: string;
  thumbprint: string;
  status: CertificateStatus;
  notAfter: string;
  createdAt: string;
  activatedAt: string | null;
}

/** Not retired and not expired: a sync may try it. */
export function isUsableCertificate(c: CertificateState, now: Date): boolean {
  return c.status !== 'retired' && Date.parse(c.notAfter) > now.getTime();
}

/** Newest first (by creation, then ID, so the order is total). */
export function newestFirst<C extends CertificateState>(certificates: readonly C[]): C[] {
  return [...certificates].sort(
    (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1),
  );
}

/**
 * Which certificates a sync tries, in order, or why it cannot try any:
 * - `none`: not one that is not retired (`settings_incomplete`, missing `certificate`);
 * - `expired`: every one that is not retired has expired (`certificate_expired`,
 *   decided here without asking Entra; the newest is named);
 * - `try`: the usable ones, newest first. The newest is tried first, an older
 *   one only while Entra refuses the newer (AADSTS700027: not uploaded yet).
 */
export type CertificatePlan<C extends CertificateState> =
  | { kind: 'none' }
  | { kind: 'expired'; newest: C }
  | { kind: 'try'; candidates: C[] };

export function planCertificateAttempts<C extends CertificateState>(
  certificates: readonly C[],
  now: Date,
): CertificatePlan<C> {
  const unretired = newestFirst(certificates.filter((c) => c.status !== 'retired'));
  if (unretired.length === 0) return { kind: 'none' };
  const candidates = unretired.filter((c) => isUsableCertificate(c, now));
  if (candidates.length === 0) return { kind: 'expired', newest: unretired[0]! };
  return { kind: 'try', candidates };
}

/**
 * What Entra accepting `acceptedId` changes: it becomes active (if it was
 * pending), and every certificate made before it that is not retired yet is
 * superseded and retired (the admin may remove it from the app registration).
 */
export function acceptanceChanges<C extends CertificateState>(
  certificates: readonly C[],
  acceptedId: string,
): { activate: boolean; retire: C[] } {
  const accepted = certificates.find((c) => c.id === acceptedId);
  if (!accepted || accepted.status === 'retired') return { activate: false, retire: [] };
  const at = Date.parse(accepted.createdAt);
  const retire = certificates.filter(
    (c) =>
      c.id !== acceptedId &&
      c.status !== 'retired' &&
      (Date.parse(c.createdAt) < at || (Date.parse(c.createdAt) === at && c.id < acceptedId)),
  );
  return { activate: accepted.status === 'pending', retire };
}

/**
 * The certificate whose expiry matters for an org: the active one (the one
 * Entra last accepted), else the newest not retired; null when none. Expiry
 * warnings and the sync overview follow it.
 */
export function currentCertificate<C extends CertificateState>(
  certificates: readonly C[],
): C | null {
  const unretired = certificates.filter((c) => c.status !== 'retired');
  const active = unretired
    .filter((c) => c.status === 'active')
    .sort((a, b) => Date.parse(b.activatedAt ?? '') - Date.parse(a.activatedAt ?? ''));
  return active[0] ?? newestFirst(unretired)[0] ?? null;
}
