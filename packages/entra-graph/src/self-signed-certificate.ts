import { createHash, generateKeyPair, randomBytes, sign, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateRsaKeyPair = promisify(generateKeyPair);

/**
 * A key pair and a self-signed X.509 certificate for an app registration's
 * "Certificates & secrets → Certificates": Entra needs only the public
 * certificate (it checks the client assertion's signature with it, never a
 * chain), so self-signed is what Microsoft documents for this use.
 *
 * Node generates the RSA key natively, off the event loop, and signs;
 * node-forge (already the simulator's CA maker: pure JavaScript, no native
 * build, works on Node 22 without WebCrypto shims) assembles the X.509
 * structure, which Node's crypto cannot create. Forge's own RSA signing is
 * pure JavaScript and would hold the api's event loop for a good part of a
 * second on a busy machine, so only the ASN.1 is forge's.
 */
export interface SelfSignedCertificate {
  /** The certificate, PEM. Public. */
  certificatePem: string;
  /** The certificate, DER: what a `.cer` upload to Entra holds. Public. */
  certificateDer: Buffer;
  /** PKCS#8 PEM. The one secret here: sealed at once, never shown. */
  privateKeyPem: string;
  /** SHA-1 of the DER, upper-case hex: the thumbprint the Entra admin center shows. */
  thumbprint: string;
  /** SHA-256 of the DER, upper-case hex (what MSAL names the certificate by, as `x5t#S256`). */
  thumbprintSha256: string;
  /** The subject, as `CN=..., O=...`. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateSubject {
  commonName: string;
  organizationName?: string;
}

export interface SelfSignedCertificateOptions {
  subject: CertificateSubject;
  /** Days from `now` to `notAfter`. */
  validityDays: number;
  now?: Date;
  /** RSA modulus bits. Default 2048. */
  modulusLength?: number;
}

/** In node-forge 1.x, but not in @types/node-forge. */
interface ForgeTbs {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}

const DAY_MS = 86_400_000;
/** `notBefore` an hour early, so a clock a little behind ours still takes the certificate as valid. */
const BACKDATE_MS = 3_600_000;

/** SHA-1 and SHA-256 thumbprints of a certificate's DER, upper-case hex. */
export function certificateThumbprints(der: Buffer): {
  thumbprint: string;
  thumbprintSha256: string;
} {
  return {
    thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    thumbprintSha256: createHash('sha256').update(der).digest('hex').toUpperCase(),
  };
}

/** The DER of a PEM certificate (throws when it is none). */
export function certificateDerOf(certificatePem: string): Buffer {
  return new X509Certificate(certificatePem).raw;
}

export async function createSelfSignedCertificate(
  options: SelfSignedCertificateOptions,
): Promise<SelfSignedCertificate> {
  const now = options.now ?? new Date();
  const { privateKey, publicKey } = await generateRsaKeyPair('rsa', {
    modulusLength: options.modulusLength ?? 2048,
  });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  // Positive (top bit clear) random serial of 16 bytes, as RFC 5280 asks.
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  cert.serialNumber = serial.toString('hex');
  // Whole seconds: X.509 time has no fractions, so what we record is what the certificate says.
  const notBefore = new Date(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(
    Math.floor((now.getTime() + options.validityDays * DAY_MS) / 1000) * 1000,
  );
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  const attributes = [
    { name: 'commonName', value: options.subject.commonName },
    ...(options.subject.organizationName
      ? [{ name: 'organizationName', value: options.subject.organizationName }]
      : []),
  ];
  cert.setSubject(attributes);
  cert.setIssuer(attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  // What forge's cert.sign() does, with Node's native RSA: sha256WithRSAEncryption
  // (PKCS#1 v1.5) over the DER of the TBSCertificate.
  const algorithm = forge.pki.oids.sha256WithRSAEncryption as string;
  cert.siginfo.algorithmOid = algorithm;
  cert.signatureOid = algorithm;
  const tbs = (forge.pki as unknown as ForgeTbs).getTBSCertificate(cert);
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  cert.tbsCertificate = tbs;
  cert.signature = sign('sha256', tbsDer, privateKey).toString('binary');

  const certificatePem = forge.pki.certificateToPem(cert);
  const certificateDer = certificateDerOf(certificatePem);
  const subject = [
    `CN=${options.subject.commonName}`,
    ...(options.subject.organizationName ? [`O=${options.subject.organizationName}`] : []),
  ].join(', ');
  return {
    certificatePem,
    certificateDer,
    privateKeyPem,
    ...certificateThumbprints(certificateDer),
    subject,
    notBefore,
    notAfter,
  };
}
