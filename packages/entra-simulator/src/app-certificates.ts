import { createHash, type KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { SimulatorError } from './errors.js';
import type { Application, ApplicationCertificate } from './schemas.js';

/**
 * A certificate registered on an app ("Certificates & secrets → Certificates"
 * in the Entra admin center, `keyCredentials` in Graph): Entra keeps only the
 * public certificate, and finds it again by the thumbprint a client
 * assertion names in its header.
 */
export interface RegisteredCertificate {
  keyId: string;
  displayName: string;
  /** SHA-1 of the DER, upper-case hex: what the admin center shows. */
  thumbprint: string;
  /** SHA-256 of the DER, upper-case hex. */
  thumbprintSha256: string;
  /** The `x5t` header that names it: base64url of the SHA-1 thumbprint. */
  x5t: string;
  /** The `x5t#S256` header that names it: base64url of the SHA-256 thumbprint. */
  x5tS256: string;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
}

/** What the simulator's API reports of a registered certificate (never the key, which it has not). */
export interface RegisteredCertificateSummary {
  keyId: string;
  displayName: string;
  thumbprint: string;
  thumbprintSha256: string;
  notBefore: string;
  notAfter: string;
}

const parsed = new WeakMap<ApplicationCertificate, RegisteredCertificate>();

/** Reads a PEM (or base64 DER) certificate; SimulatorError `invalid_certificate` when it is none. */
export function parseCertificate(input: {
  certificatePem: string;
  keyId: string;
  displayName?: string | undefined;
}): RegisteredCertificate {
  let cert: X509Certificate;
  try {
    const text = input.certificatePem.trim();
    cert = new X509Certificate(
      text.startsWith('-----BEGIN') ? text : Buffer.from(text.replace(/\s+/g, ''), 'base64'),
    );
  } catch {
    throw new SimulatorError(
      'invalid_certificate',
      'certificatePem is not an X.509 certificate (PEM, or the base64 of its DER)',
    );
  }
  const der = cert.raw;
  const sha1 = createHash('sha1').update(der).digest();
  const sha256 = createHash('sha256').update(der).digest();
  return {
    keyId: input.keyId,
    displayName: input.displayName ?? cert.subject.replace(/\n/g, ', '),
    thumbprint: sha1.toString('hex').toUpperCase(),
    thumbprintSha256: sha256.toString('hex').toUpperCase(),
    x5t: sha1.toString('base64url'),
    x5tS256: sha256.toString('base64url'),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    publicKey: cert.publicKey,
  };
}

/** The app's certificates, parsed once each. */
export function registeredCertificates(app: Application): RegisteredCertificate[] {
  return app.certificates.map((c) => {
    let p = parsed.get(c);
    if (!p) {
      p = parseCertificate(c);
      parsed.set(c, p);
    }
    return p;
  });
}

export function summarizeCertificate(c: RegisteredCertificate): RegisteredCertificateSummary {
  return {
    keyId: c.keyId,
    displayName: c.displayName,
    thumbprint: c.thumbprint,
    thumbprintSha256: c.thumbprintSha256,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
  };
}

/**
 * Uploads a certificate to the app, as an admin does in the admin center.
 * The same certificate twice is refused, as Entra refuses a duplicate key.
 */
export function addAppCertificate(
  app: Application,
  input: { certificatePem: string; keyId?: string | undefined; displayName?: string | undefined },
): RegisteredCertificateSummary {
  const keyId = (input.keyId ?? randomUUID()).toLowerCase();
  const entry: ApplicationCertificate = {
    keyId,
    certificatePem: input.certificatePem,
    ...(input.displayName ? { displayName: input.displayName } : {}),
  };
  const candidate = parseCertificate(entry);
  const existing = registeredCertificates(app);
  if (existing.some((c) => c.thumbprint === candidate.thumbprint || c.keyId === keyId)) {
    throw new SimulatorError(
      'certificate_exists',
      `application ${app.appId} already has this certificate (${candidate.thumbprint})`,
    );
  }
  app.certificates.push(entry);
  return summarizeCertificate(registeredCertificates(app).at(-1)!);
}

/**
 * Removes a certificate from the app by its key ID or either thumbprint
 * (hex, any case). False when the app has no such certificate.
 */
export function removeAppCertificate(app: Application, keyIdOrThumbprint: string): boolean {
  const wanted = keyIdOrThumbprint.trim().toLowerCase();
  const registered = registeredCertificates(app);
  const index = registered.findIndex(
    (c) =>
      c.keyId.toLowerCase() === wanted ||
      c.thumbprint.toLowerCase() === wanted ||
      c.thumbprintSha256.toLowerCase() === wanted,
  );
  if (index < 0) return false;
  app.certificates.splice(index, 1);
  return true;
}
