import {
  createHash,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';

/** The RSA key the simulator signs access tokens with, made at start. */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Key ID, also used as x5t (Entra sets both to the same thumbprint). */
  kid: string;
  jwk: JsonWebKey;
}

export function createSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const kid = createHash('sha1').update(der).digest('base64url');
  return { privateKey, publicKey, kid, jwk: publicKey.export({ format: 'jwk' }) };
}

export type JwtClaims = Record<string, unknown>;

const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS, RS256. */
export function signJwt(claims: JwtClaims, key: SigningKey): string {
  const header = { typ: 'JWT', alg: 'RS256', x5t: key.kid, kid: key.kid };
  const input = `${b64json(header)}.${b64json(claims)}`;
  const signature = sign('sha256', Buffer.from(input), key.privateKey).toString('base64url');
  return `${input}.${signature}`;
}

export type JwtCheck =
  | { ok: true; claims: JwtClaims }
  | { ok: false; reason: 'malformed' | 'signature' };

function parseJson(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a compact JWS and checks its RS256 signature against our key. */
export function verifyJwt(token: string, key: SigningKey): JwtCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [h, p, s] = parts as [string, string, string];
  const header = parseJson(h);
  const claims = parseJson(p);
  if (!isObject(header) || !isObject(claims)) return { ok: false, reason: 'malformed' };
  if (header.alg !== 'RS256' || header.kid !== key.kid) return { ok: false, reason: 'signature' };
  const valid = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    key.publicKey,
    Buffer.from(s, 'base64url'),
  );
  return valid ? { ok: true, claims } : { ok: false, reason: 'signature' };
}
