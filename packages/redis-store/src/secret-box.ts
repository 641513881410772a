import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
/** GCM authentication tag length (the default, and the only one accepted). */
const TAG_BYTES = 16;

export class SecretDecryptionError extends Error {
  readonly code = 'secret_decryption_failed';
  constructor() {
    super('The stored client secret could not be decrypted (wrong SECRET_ENCRYPTION_KEY?)');
    this.name = 'SecretDecryptionError';
  }
}

/**
 * AES-256-GCM for client secrets at rest. The org ID is bound in as
 * additional authenticated data, so a ciphertext copied to another org's
 * record fails to decrypt instead of lending that org someone's credentials.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(base64Key: string) {
    const key = Buffer.from(base64Key, 'base64');
    if (key.length !== 32) throw new Error('SECRET_ENCRYPTION_KEY must be 32 bytes (base64)');
    this.key = key;
  }

  encrypt(plaintext: string, orgId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(orgId, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, iv, tag, ciphertext]
      .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
      .join('.');
  }

  decrypt(sealed: string, orgId: string): string {
    const [version, iv, tag, ciphertext] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || ciphertext === undefined)
      throw new SecretDecryptionError();
    try {
      // Pin the tag length: without it GCM accepts a tag truncated to as few
      // as 4 bytes, which makes forging a sealed value far easier.
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(orgId, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SecretDecryptionError();
    }
  }
}
