import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, SecretDecryptionError } from '../src/secret-box.js';
import { keyIdOf, SecretKeyring } from '../src/secret-keyring.js';

const key = () => randomBytes(32).toString('base64');
const SECRET = 'Abc8Q~s3cr3t-value.with_all~kinds-0f-chars';

/** Splits a sealed value into its five dot-separated parts: version, key ID, IV, tag, ciphertext. */
function parts(sealed: string): [string, string, string, string, string] {
  const p = sealed.split('.');
  expect(p).toHaveLength(5);
  return p as [string, string, string, string, string];
}

/**
 * A value sealed as every release before key IDs did (`v1.<iv>.<tag>.<ct>`,
 * the org ID as AAD): what Redis holds on the day rotation ships.
 */
function legacySeal(base64Key: string, plaintext: string, orgId: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(base64Key, 'base64'), iv);
  cipher.setAAD(Buffer.from(orgId, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ct]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** Flips one bit of a base64url part. */
function flipBit(part: string, byte = 0): string {
  const buf = Buffer.from(part, 'base64url');
  buf[byte % buf.length] = (buf[byte % buf.length] as number) ^ 0x01;
  return buf.toString('base64url');
}

describe('SecretBox', () => {
  it('round-trips a secret and never stores it in clear', () => {
    const box = new SecretBox(key());
    const sealed = box.encrypt(SECRET, 'org-a');
    expect(sealed).not.toContain(SECRET);
    expect(sealed.startsWith(`v2.${box.keyring.current.id}.`)).toBe(true);
    expect(box.decrypt(sealed, 'org-a')).toBe(SECRET);
  });

  it('round-trips non-ASCII and empty values', () => {
    const box = new SecretBox(key());
    for (const value of ['', 'ü€😀', 'x'.repeat(2000)]) {
      expect(box.decrypt(box.encrypt(value, 'org-a'), 'org-a')).toBe(value);
    }
  });

  it('uses a fresh IV for each encryption of the same value', () => {
    const box = new SecretBox(key());
    const sealed = Array.from({ length: 20 }, () => box.encrypt(SECRET, 'org-a'));
    expect(new Set(sealed).size).toBe(20);
    expect(new Set(sealed.map((s) => parts(s)[2])).size).toBe(20);
    for (const s of sealed) expect(box.decrypt(s, 'org-a')).toBe(SECRET);
  });

  it('refuses a ciphertext moved to another org (the org ID is authenticated)', () => {
    const box = new SecretBox(key());
    const sealed = box.encrypt(SECRET, 'org-a');
    expect(() => box.decrypt(sealed, 'org-b')).toThrow(SecretDecryptionError);
    expect(() => box.decrypt(sealed, 'org-a ')).toThrow(SecretDecryptionError);
  });

  it('refuses a value sealed under another key', () => {
    const sealed = new SecretBox(key()).encrypt(SECRET, 'org-a');
    expect(() => new SecretBox(key()).decrypt(sealed, 'org-a')).toThrow(SecretDecryptionError);
  });

  it('refuses any tampered part', () => {
    const box = new SecretBox(key());
    const [v, kid, iv, tag, ct] = parts(box.encrypt(SECRET, 'org-a'));
    const tampered = [
      [v, kid, flipBit(iv), tag, ct],
      [v, kid, iv, flipBit(tag), ct],
      [v, kid, iv, flipBit(tag, 15), ct],
      [v, kid, iv, tag, flipBit(ct)],
      [v, kid, iv, tag, flipBit(ct, 7)],
      [v, kid, iv, tag, ct.slice(0, -2)],
      [v, flipBit(kid), iv, tag, ct],
      ['v3', kid, iv, tag, ct],
      ['v1', kid, iv, tag, ct],
      [v, kid, iv, tag],
      [v, iv, tag, ct],
      [v, kid, '', tag, ct],
    ];
    for (const p of tampered) {
      expect(() => box.decrypt(p.join('.'), 'org-a')).toThrow(SecretDecryptionError);
    }
    expect(() => box.decrypt('', 'org-a')).toThrow(SecretDecryptionError);
    expect(() => box.decrypt('not a sealed value', 'org-a')).toThrow(SecretDecryptionError);
  });

  it('refuses a truncated authentication tag', () => {
    // GCM accepts tags as short as 4 bytes unless the length is pinned; a
    // truncated tag would make forgeries 2^96 times easier.
    const box = new SecretBox(key());
    const [v, kid, iv, tag, ct] = parts(box.encrypt(SECRET, 'org-a'));
    for (const bytes of [4, 8, 12, 15]) {
      const short = Buffer.from(tag, 'base64url').subarray(0, bytes).toString('base64url');
      expect(() => box.decrypt([v, kid, iv, short, ct].join('.'), 'org-a')).toThrow(
        SecretDecryptionError,
      );
    }
  });

  it('never puts the secret or the key in its error message', () => {
    const k = key();
    const box = new SecretBox(k);
    const sealed = box.encrypt(SECRET, 'org-a');
    try {
      box.decrypt(sealed, 'org-b');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SecretDecryptionError);
      const e = error as SecretDecryptionError;
      expect(e.code).toBe('secret_decryption_failed');
      expect(e.message).not.toContain(SECRET);
      expect(e.message).not.toContain(k);
    }
  });

  it('requires a 32-byte key', () => {
    expect(() => new SecretBox(randomBytes(16).toString('base64'))).toThrow(/32 bytes/);
    expect(() => new SecretBox(randomBytes(33).toString('base64'))).toThrow(/32 bytes/);
    expect(() => new SecretBox('')).toThrow(/32 bytes/);
  });
});

describe('SecretBox key rotation', () => {
  const oldKey = key();
  const newKey = key();

  it('names the sealing key by an ID derived from the key, the same in every process', () => {
    const a = new SecretBox(oldKey);
    const b = new SecretBox({ current: oldKey });
    expect(a.keyring.current.id).toBe(b.keyring.current.id);
    expect(a.keyring.current.id).toBe(keyIdOf(Buffer.from(oldKey, 'base64')));
    expect(a.keyring.current.id).not.toBe(new SecretBox(newKey).keyring.current.id);
    expect(a.keyring.current.id).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(oldKey).not.toContain(a.keyring.current.id);
  });

  it('always seals with the current key, and opens values of a previous key', () => {
    const before = new SecretBox(oldKey).encrypt(SECRET, 'org-a');
    const rotated = new SecretBox({ current: newKey, previous: [oldKey] });
    expect(rotated.open(before, 'org-a')).toEqual({ plaintext: SECRET, current: false });
    const after = rotated.encrypt(SECRET, 'org-a');
    expect(parts(after)[1]).toBe(rotated.keyring.current.id);
    expect(rotated.open(after, 'org-a')).toEqual({ plaintext: SECRET, current: true });
    expect(rotated.isCurrent(after)).toBe(true);
    expect(rotated.isCurrent(before)).toBe(false);
    // Once the old key is dropped its values no longer open, and the error says which key.
    const dropped = new SecretBox(newKey);
    expect(dropped.decrypt(after, 'org-a')).toBe(SECRET);
    try {
      dropped.decrypt(before, 'org-a');
      expect.unreachable();
    } catch (error) {
      const e = error as SecretDecryptionError;
      expect(e.reason).toBe('unknown_key');
      expect(e.keyId).toBe(parts(before)[1]);
      expect(e.message).toContain(parts(before)[1]);
      expect(e.message).not.toContain(oldKey);
      expect(e.message).not.toContain(newKey);
    }
  });

  it('opens a value sealed before key IDs with whichever configured key sealed it', () => {
    const legacy = legacySeal(oldKey, SECRET, 'org-a');
    expect(new SecretBox(oldKey).open(legacy, 'org-a')).toEqual({
      plaintext: SECRET,
      current: false,
    });
    const rotated = new SecretBox({ current: newKey, previous: [key(), oldKey] });
    expect(rotated.open(legacy, 'org-a')).toEqual({ plaintext: SECRET, current: false });
    expect(rotated.isCurrent(legacy)).toBe(false);
    // Still bound to its org, and to a key that is configured.
    expect(() => rotated.decrypt(legacy, 'org-b')).toThrow(SecretDecryptionError);
    expect(() => new SecretBox(newKey).decrypt(legacy, 'org-a')).toThrow(SecretDecryptionError);
  });

  it('lists each key once, current first', () => {
    const ring = new SecretKeyring({ current: newKey, previous: [oldKey, newKey, oldKey] });
    expect(ring.entries.map((e) => e.id)).toEqual([
      keyIdOf(Buffer.from(newKey, 'base64')),
      keyIdOf(Buffer.from(oldKey, 'base64')),
    ]);
    expect(() => new SecretKeyring({ current: newKey, previous: ['c2hvcnQ='] })).toThrow(
      /32 bytes/,
    );
  });

  it('derives a distinct key per purpose, never the encryption key itself', () => {
    const ring = new SecretKeyring({ current: newKey, previous: [oldKey] });
    const [cursorKey, previousCursorKey] = ring.derive('cursor');
    expect(ring.derive('cursor')).toHaveLength(2);
    expect(cursorKey?.equals(ring.derive('cursor')[0] as Buffer)).toBe(true);
    expect(cursorKey?.equals(previousCursorKey as Buffer)).toBe(false);
    expect(cursorKey?.equals(ring.derive('other')[0] as Buffer)).toBe(false);
    expect(cursorKey?.equals(Buffer.from(newKey, 'base64'))).toBe(false);
  });
});
