import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type KeyringEntry, SecretKeyring, type SecretKeys } from './secret-keyring.js';

/** Sealed before key IDs existed: `v1.<iv>.<tag>.<ciphertext>`, any configured key may open it. */
const LEGACY_VERSION = 'v1';
/** `v2.<keyId>.<iv>.<tag>.<ciphertext>`: the key is named. */
const VERSION = 'v2';
/** GCM authentication tag length (the default, and the only one accepted). */
const TAG_BYTES = 16;

export type SecretDecryptionReason =
  /** Not a sealed value of any version this service writes. */
  | 'malformed'
  /** Sealed under a key ID that is neither SECRET_ENCRYPTION_KEY nor in SECRET_DECRYPTION_KEYS. */
  | 'unknown_key'
  /** The key is configured but the value does not authenticate (tampered, or another org's). */
  | 'unauthenticated';

export class SecretDecryptionError extends Error {
  readonly code = 'secret_decryption_failed';
  constructor(
    readonly reason: SecretDecryptionReason,
    /** The key ID the value names (v2), never key material. */
    readonly keyId?: string,
  ) {
    super(
      reason === 'unknown_key'
        ? `A stored secret could not be decrypted: it was sealed with key ${keyId}, which is neither SECRET_ENCRYPTION_KEY nor in SECRET_DECRYPTION_KEYS`
        : 'A stored secret could not be decrypted by any configured key (SECRET_ENCRYPTION_KEY, SECRET_DECRYPTION_KEYS)',
    );
    this.name = 'SecretDecryptionError';
  }
}

/** What opening a sealed value tells besides the plaintext. */
export interface OpenedSecret {
  plaintext: string;
  /** Sealed under the current key, with its ID: re-encrypting would change nothing. */
  current: boolean;
}

function open(entry: KeyringEntry, parts: string[], aad: string): string | null {
  const [iv, tag, ciphertext] = parts;
  if (!iv || !tag || ciphertext === undefined) return null;
  try {
    // Pin the tag length: without it GCM accepts a tag truncated to as few
    // as 4 bytes, which makes forging a sealed value far easier.
    const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(iv, 'base64url'), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([
      decipher.update(Buffer.from(ciphertext, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return null;
  }
}

/**
 * AES-256-GCM for secrets at rest. Each value names the key that sealed it,
 * so SECRET_ENCRYPTION_KEY can be rotated: new values are sealed with the
 * current key, and values sealed with a previous one (SECRET_DECRYPTION_KEYS)
 * still open until they are re-encrypted.
 *
 * The caller's context (for a client secret, the org ID) is bound in as
 * additional authenticated data: a ciphertext copied to another org's
 * record, or to another kind of secret with its own context, fails to
 * decrypt instead of lending that org someone's credentials.
 */
export class SecretBox {
  readonly keyring: SecretKeyring;

  constructor(keys: SecretKeyring | SecretKeys | string) {
    this.keyring = keys instanceof SecretKeyring ? keys : new SecretKeyring(keys);
  }

  encrypt(plaintext: string, context: string): string {
    const { id, key } = this.keyring.current;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, id, ...[iv, tag, ciphertext].map((p) => p.toString('base64url'))].join('.');
  }

  decrypt(sealed: string, context: string): string {
    return this.open(sealed, context).plaintext;
  }

  /** Opens a sealed value with whichever configured key sealed it; throws SecretDecryptionError. */
  open(sealed: string, context: string): OpenedSecret {
    const [version, ...rest] = sealed.split('.');
    if (version === VERSION && rest.length === 4) {
      const [keyId, ...parts] = rest as [string, ...string[]];
      const entry = this.keyring.byId(keyId);
      if (!entry) throw new SecretDecryptionError('unknown_key', keyId);
      const plaintext = open(entry, parts, context);
      if (plaintext === null) throw new SecretDecryptionError('unauthenticated', keyId);
      return { plaintext, current: entry.id === this.keyring.current.id };
    }
    if (version === LEGACY_VERSION && rest.length === 3) {
      // No key ID: whichever configured key authenticates it is the one.
      for (const entry of this.keyring.entries) {
        const plaintext = open(entry, rest, context);
        if (plaintext !== null) return { plaintext, current: false };
      }
      throw new SecretDecryptionError('unauthenticated');
    }
    throw new SecretDecryptionError('malformed');
  }

  /** Sealed under the current key with its ID (without opening it). */
  isCurrent(sealed: string): boolean {
    const [version, keyId] = sealed.split('.');
    return version === VERSION && keyId === this.keyring.current.id;
  }
}
