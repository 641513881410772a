import { constants, verify } from 'node:crypto';
import type { AadstsError } from './aadsts-error.js';
import { type RegisteredCertificate, registeredCertificates } from './app-certificates.js';
import type { Application, ClientAssertionReplay } from './schemas.js';

/**
 * `private_key_jwt` client authentication at the token endpoint
 * (https://learn.microsoft.com/entra/identity-platform/certificate-credentials):
 * `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
 * and `client_assertion`, a JWT signed with the private key of a certificate
 * registered on the app, naming that certificate by its thumbprint in the
 * header.
 *
 * What MSAL Node 7 (under @azure/identity 4.14's ClientCertificateCredential)
 * sends, from its ClientAssertion.createJwt: header `{ alg: "PS256",
 * "x5t#S256": base64url(SHA-256 of the DER) }` (`RS256` with `x5t`, the SHA-1
 * thumbprint, only when given a SHA-1 thumbprint alone); claims `aud` (the
 * token endpoint), `iss` and `sub` (the client ID), `nbf` (now), `exp` (now +
 * 600 s) and `jti` (a new GUID). It keeps that JWT and sends it again for
 * every token request of the same client application until it expires.
 */
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Algorithms Entra's documentation names for the assertion (PS256 today, RS256 before). */
const ALGORITHMS = new Set(['PS256', 'RS256']);

/** Clock skew Entra tolerates on an assertion's `nbf` and `exp` (assumed: Entra's usual five minutes). */
export const ASSERTION_SKEW_SECONDS = 300;

// Messages are Entra's, from real answers quoted in public issues (links per
// entry); status and `error` where the quote shows them, else assumed alike.
export const assertionErrors = {
  // https://github.com/AzureAD/microsoft-authentication-library-for-js/issues/8339 (invalid_client)
  // and https://github.com/pnp/cli-microsoft365/issues/1621
  keyNotFound: (thumbprint: string, appId: string): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 700027,
    message: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${appId}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/${appId}']. Alternatively, SNI may be configured on the app. Please ensure that client assertion is being sent with the x5c claim in the JWT header using MSAL's WithSendX5C() method so that Azure Active Directory can validate the certificate being used.`,
  }),
  // The same code for a registered key whose validity has ended; text as quoted in
  // Microsoft's own troubleshooting of an Exchange hybrid setup ("The key used is expired").
  keyExpired: (c: RegisteredCertificate, appId: string): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 700027,
    message: `Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '${c.thumbprint}', Found key 'Start=${usDate(c.notBefore)}, End=${usDate(c.notAfter)}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${appId}'.]`,
  }),
  // https://github.com/microsoftgraph/msgraph-sdk-php/issues/1585 (the reason text, there under 50013)
  badSignature: (c: RegisteredCertificate, appId: string): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 700027,
    message: `Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '${c.thumbprint}', Found key 'Start=${usDate(c.notBefore)}, End=${usDate(c.notAfter)}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${appId}'.]`,
  }),
  // https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/4951 and
  // https://github.com/obikuro/Sato/issues/1 (invalid_client)
  outsideValidTime: (now: Date, nbf: number | null, exp: number | null): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 700024,
    message: `Client assertion is not within its valid time range. Current time: ${entraInstant(now)}, assertion valid from ${entraInstant(new Date((nbf ?? 0) * 1000))}, expiry time of assertion ${entraInstant(new Date((exp ?? 0) * 1000))}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
  }),
  // https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/124
  noThumbprint: (): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 50027,
    message: 'Invalid JWT token. No certificate thumbprint specified in token header.',
  }),
  // https://github.com/panva/openid-client/issues/348 (an audience Entra does not take);
  // status and `error` assumed as for the other assertion failures.
  malformed: (): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 50027,
    message: 'JWT token is invalid or malformed.',
  }),
  // https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/4712 (invalid_request)
  unsupportedAlgorithm: (): AadstsError => ({
    status: 400,
    error: 'invalid_request',
    code: 5002730,
    message: 'Invalid JWT token. Unsupported key for the signing algorithm.',
  }),
  // https://github.com/AzureAD/microsoft-authentication-library-for-java/issues/430
  subjectMismatch: (): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 50048,
    message: 'Subject must match the issuer claim in the client assertion.',
  }),
  // Not Microsoft's: Entra documents no replay check (see ClientAssertionReplay).
  replayed: (jti: string): AadstsError => ({
    status: 401,
    error: 'invalid_client',
    code: 50027,
    message: `The Entra simulator refused a client assertion whose jti '${jti}' was used before (setting clientAssertionReplay: 'refuse'; Entra documents no such check).`,
  }),
} as const;

/** "06/29/2021 21:13:15", as Entra writes a key's validity. */
function usDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** "2024-10-02T22:05:03.6755165Z", as Entra writes instants in this message. */
function entraInstant(d: Date): string {
  return `${d.toISOString().slice(0, 23)}0000Z`;
}

function jsonSegment(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const numeric = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;

/** `jti`s seen, per app, until their assertion expires. */
export class AssertionReplayCache {
  private readonly seen = new Map<string, number>();

  /** True when `jti` was seen before for this app and its assertion has not expired. */
  check(appId: string, jti: string, expMs: number, nowMs: number): boolean {
    if (this.seen.size > 10_000) {
      for (const [key, until] of this.seen) if (until <= nowMs) this.seen.delete(key);
    }
    const key = `${appId.toLowerCase()}|${jti}`;
    const until = this.seen.get(key);
    if (until !== undefined && until > nowMs) return true;
    this.seen.set(key, expMs);
    return false;
  }
}

export interface AssertionCheck {
  assertion: string;
  app: Application;
  clientId: string;
  /** The token endpoint the request came to, as the client's authority names it. */
  audiences: readonly string[];
  /** Entra's clock (the simulator's, shifted by `entraClockOffsetSeconds`). */
  now: Date;
  replay: ClientAssertionReplay;
  replays: AssertionReplayCache;
}

export type AssertionOutcome =
  | { ok: true; certificate: RegisteredCertificate }
  | { ok: false; error: AadstsError };

/**
 * Validates a client assertion as Entra does, in its order: a JWT at all,
 * a thumbprint in the header, a certificate registered under it (and not
 * expired), the signature, then the claims (`aud`, `iss`/`sub`, `nbf`/`exp`,
 * `jti`).
 */
export function checkClientAssertion(c: AssertionCheck): AssertionOutcome {
  const fail = (error: AadstsError): AssertionOutcome => ({ ok: false, error });
  const parts = c.assertion.split('.');
  if (parts.length !== 3) return fail(assertionErrors.malformed());
  const [h, p, s] = parts as [string, string, string];
  const header = jsonSegment(h);
  const claims = jsonSegment(p);
  if (!header || !claims) return fail(assertionErrors.malformed());
  const alg = typeof header.alg === 'string' ? header.alg : '';
  if (!ALGORITHMS.has(alg)) return fail(assertionErrors.unsupportedAlgorithm());

  const x5tS256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : null;
  const x5t = typeof header.x5t === 'string' ? header.x5t : null;
  if (!x5tS256 && !x5t) return fail(assertionErrors.noThumbprint());
  const named = x5tS256 ?? x5t ?? '';
  const certificate = registeredCertificates(c.app).find((r) =>
    x5tS256 ? r.x5tS256 === x5tS256 : r.x5t === x5t,
  );
  if (!certificate) {
    const hex = Buffer.from(named, 'base64url').toString('hex').toUpperCase();
    return fail(assertionErrors.keyNotFound(hex, c.app.appId));
  }
  if (certificate.notAfter.getTime() <= c.now.getTime()) {
    return fail(assertionErrors.keyExpired(certificate, c.app.appId));
  }
  const signature = Buffer.from(s, 'base64url');
  const data = Buffer.from(`${h}.${p}`);
  const valid =
    alg === 'PS256'
      ? verify(
          'sha256',
          data,
          {
            key: certificate.publicKey,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_AUTO,
          },
          signature,
        )
      : verify('sha256', data, certificate.publicKey, signature);
  if (!valid) return fail(assertionErrors.badSignature(certificate, c.app.appId));

  const aud = claims.aud;
  const audiences = Array.isArray(aud) ? aud : [aud];
  // One audience, the token endpoint: a list (even one naming it) is refused.
  if (
    audiences.length !== 1 ||
    typeof audiences[0] !== 'string' ||
    !c.audiences.includes(audiences[0].replace(/\/$/, ''))
  ) {
    return fail(assertionErrors.malformed());
  }
  if (typeof claims.iss !== 'string' || claims.iss.toLowerCase() !== c.clientId.toLowerCase()) {
    return fail(assertionErrors.malformed());
  }
  if (claims.sub !== claims.iss) return fail(assertionErrors.subjectMismatch());
  const nbf = numeric(claims.nbf);
  const exp = numeric(claims.exp);
  const nowS = c.now.getTime() / 1000;
  if (
    exp === null ||
    exp + ASSERTION_SKEW_SECONDS <= nowS ||
    (nbf !== null && nbf - ASSERTION_SKEW_SECONDS > nowS)
  ) {
    return fail(assertionErrors.outsideValidTime(c.now, nbf, exp));
  }
  const jti = claims.jti;
  if (typeof jti !== 'string' || jti.length === 0) return fail(assertionErrors.malformed());
  const replayed = c.replays.check(c.app.appId, jti, exp * 1000, c.now.getTime());
  if (replayed && c.replay === 'refuse') return fail(assertionErrors.replayed(jti));
  return { ok: true, certificate };
}
