import { createHmac, hkdfSync } from 'node:crypto';

/** One configured encryption key and the ID ciphertexts name it by. */
export interface KeyringEntry {
  id: string;
  key: Buffer;
}

/** What a keyring is made from: SECRET_ENCRYPTION_KEY and SECRET_DECRYPTION_KEYS. */
export interface SecretKeys {
  /** Encrypts everything new (SECRET_ENCRYPTION_KEY, base64). */
  current: string;
  /** Still accepted for decryption during a rotation (SECRET_DECRYPTION_KEYS, base64). */
  previous?: readonly string[] | undefined;
}

/** Labels for keys derived from the encryption keys, one per use, never the raw key itself. */
const KEY_ID_LABEL = 'pinnacle entra-sync: key id v1';

function decodeKey(base64Key: string): Buffer {
  const key = Buffer.from(base64Key, 'base64');
  if (key.length !== 32) throw new Error('SECRET_ENCRYPTION_KEY must be 32 bytes (base64)');
  return key;
}

/**
 * A key's ID: a keyed hash of the key, so the same key has the same ID in
 * every process without anyone naming it, and the ID says nothing about the
 * key. 64 bits: enough to tell a handful of configured keys apart.
 */
export function keyIdOf(key: Buffer): string {
  return createHmac('sha256', key)
    .update(KEY_ID_LABEL)
    .digest()
    .subarray(0, 8)
    .toString('base64url');
}

/**
 * The service's encryption keys: the current one (which seals everything
 * new) and the previous ones (which only open what they sealed). Other
 * secrets the service needs, such as the directory cursors' MAC key, are
 * derived from these with a purpose label, so rotating the encryption key
 * rotates them too.
 */
export class SecretKeyring {
  readonly current: KeyringEntry;
  /** Current first, then the previous keys in the order given; each key once. */
  readonly entries: readonly KeyringEntry[];

  constructor(keys: SecretKeys | string) {
    const { current, previous = [] } = typeof keys === 'string' ? { current: keys } : keys;
    const currentKey = decodeKey(current);
    this.current = { id: keyIdOf(currentKey), key: currentKey };
    const entries: KeyringEntry[] = [this.current];
    for (const base64 of previous) {
      const key = decodeKey(base64);
      const id = keyIdOf(key);
      if (!entries.some((e) => e.id === id)) entries.push({ id, key });
    }
    this.entries = entries;
  }

  byId(id: string): KeyringEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  /**
   * A 32-byte key for `purpose` (HKDF-SHA256) from each configured key,
   * current first: new values are made with the first, and any of them is
   * accepted, so values made before a rotation stay valid until the old key
   * is dropped.
   */
  derive(purpose: string): Buffer[] {
    return this.entries.map(({ key }) =>
      Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `pinnacle entra-sync: ${purpose}`, 32)),
    );
  }
}
