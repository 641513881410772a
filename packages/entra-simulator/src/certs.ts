import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

/** PEM material for the simulator's TLS: a private CA and a server certificate it signed. */
export interface TlsMaterial {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

/** Extra host names the server certificate should cover besides 127.0.0.1, ::1 and localhost. */
export interface TlsOptions {
  extraHostnames?: readonly string[];
}

const DAY_MS = 86_400_000;

// Node generates RSA keys natively (fast); forge only assembles and signs the
// X.509 structures, which it does in pure JS with no native build step.
function rsaKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function serialNumber(): string {
  // Positive (top bit clear) random serial, as RFC 5280 requires.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

/**
 * Creates a fresh CA and a server certificate for the simulator. Nothing is
 * persisted: every simulator start has its own trust root.
 */
export function createTlsMaterial(options: TlsOptions = {}): TlsMaterial {
  const now = Date.now();
  const caKeys = rsaKeyPair();
  const caPrivate = forge.pki.privateKeyFromPem(caKeys.privateKeyPem);
  const caPublic = forge.pki.publicKeyFromPem(caKeys.publicKeyPem);

  const ca = forge.pki.createCertificate();
  ca.publicKey = caPublic;
  ca.serialNumber = serialNumber();
  // Backdated a day so a slightly skewed clock still accepts it.
  ca.validity.notBefore = new Date(now - DAY_MS);
  ca.validity.notAfter = new Date(now + 365 * DAY_MS);
  const caSubject = [
    { name: 'commonName', value: 'Pinnacle Entra Simulator CA' },
    { name: 'organizationName', value: 'Pinnacle Series (test only)' },
  ];
  ca.setSubject(caSubject);
  ca.setIssuer(caSubject);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caPrivate, forge.md.sha256.create());

  const serverKeys = rsaKeyPair();
  const server = forge.pki.createCertificate();
  server.publicKey = forge.pki.publicKeyFromPem(serverKeys.publicKeyPem);
  server.serialNumber = serialNumber();
  server.validity.notBefore = new Date(now - DAY_MS);
  server.validity.notAfter = new Date(now + 90 * DAY_MS);
  server.setSubject([{ name: 'commonName', value: 'localhost' }]);
  server.setIssuer(caSubject);
  const altNames: { type: number; value?: string; ip?: string }[] = [
    { type: 2, value: 'localhost' },
    { type: 7, ip: '127.0.0.1' },
    { type: 7, ip: '::1' },
    ...(options.extraHostnames ?? []).map((value) => ({ type: 2, value })),
  ];
  server.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  server.sign(caPrivate, forge.md.sha256.create());

  return {
    caCertPem: forge.pki.certificateToPem(ca),
    serverCertPem: forge.pki.certificateToPem(server),
    serverKeyPem: serverKeys.privateKeyPem,
  };
}
