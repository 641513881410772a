import {
  constants,
  createHash,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { Client, type Options } from '@microsoft/microsoft-graph-client';
import forge from 'node-forge';
import { type Simulator, trustSimulatorCa } from '../src/index.js';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/** How the service calls Entra: custom authority, instance discovery off. */
export function credential(
  sim: Simulator,
  tenant: string,
  clientId: string,
  secret: string,
): ClientSecretCredential {
  return new ClientSecretCredential(tenant, clientId, secret, {
    authorityHost: sim.authorityHost,
    disableInstanceDiscovery: true,
  });
}

/**
 * Where a ClientSecretCredential failure carries Entra's answer: the thrown
 * AuthenticationRequiredError wraps MSAL's ServerError as `cause`, with the
 * OAuth error in `errorCode` and error_codes[0] in `errorNo`.
 */
export function entraFailure(err: unknown): { error: string; code: number; status: number } {
  const cause = (err as { cause?: { errorCode?: unknown; errorNo?: unknown; status?: unknown } })
    .cause;
  return {
    error: String(cause?.errorCode),
    code: Number(cause?.errorNo),
    status: Number(cause?.status),
  };
}

export async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

/** The Graph JS client pointed at the simulator, with a fixed token. */
export function graphClient(sim: Simulator, token: string, options: Partial<Options> = {}): Client {
  return Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: sim.graphBaseUrl,
    // The client only attaches the token to Graph hosts or these (host names, no port).
    customHosts: new Set([new URL(sim.graphBaseUrl).hostname]),
    ...options,
  });
}

/** The Graph client's error for a failed call. */
export interface GraphClientError {
  statusCode: number;
  code: string | null;
  message: string;
  requestId: string | null;
  headers?: Headers;
  body?: string;
}

export function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

export function trust(sim: Simulator): void {
  trustSimulatorCa(sim.caCertPem);
}

/** A self-signed certificate and its key, as an admin (or the service) makes one for an app. */
export interface TestCertificate {
  certificatePem: string;
  privateKeyPem: string;
  /** SHA-1 of the DER, upper-case hex. */
  thumbprint: string;
  thumbprintSha256: string;
}

export function selfSignedCertificate(
  options: { notBefore?: Date; notAfter?: Date; subject?: string } = {},
): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(
    publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: options.subject ?? 'Simulator test app' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  cert.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  const certificatePem = forge.pki.certificateToPem(cert);
  const der = new X509Certificate(certificatePem).raw;
  return {
    certificatePem,
    privateKeyPem,
    thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase(),
    thumbprintSha256: createHash('sha256').update(der).digest('hex').toUpperCase(),
  };
}

/** How the service authenticates with a certificate: the PEM of key and certificate together. */
export function certificateCredential(
  sim: Simulator,
  tenant: string,
  clientId: string,
  cert: TestCertificate,
): ClientCertificateCredential {
  return new ClientCertificateCredential(
    tenant,
    clientId,
    { certificate: `${cert.privateKeyPem}\n${cert.certificatePem}` },
    { authorityHost: sim.authorityHost, disableInstanceDiscovery: true },
  );
}

/** A client assertion made by hand, for what MSAL never sends. */
export function signAssertion(
  key: string,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${part(header)}.${part(claims)}`;
  const alg = header.alg;
  const signature =
    alg === 'PS256'
      ? sign('sha256', Buffer.from(input), {
          key,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        })
      : sign('sha256', Buffer.from(input), key);
  return `${input}.${signature.toString('base64url')}`;
}
