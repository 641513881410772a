import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox, SecretDecryptionError } from '../src/secret-box.js';

const key = () => randomBytes(32).toString('base64');
const SECRET = 'Abc8Q~s3cr3t-value.with_all~kinds-0f-chars';

/** Splits a sealed value into its four dot-separated parts. */
function parts(sealed: string): [string, string, string, string] {
  const p = sealed.split('.');
  expect(p).toHaveLength(4);
  return p as [string, string, string, string];
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
    expect(sealed.startsWith('v1.')).toBe(true);
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
    expect(new Set(sealed.map((s) => parts(s)[1])).size).toBe(20);
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
    const [v, iv, tag, ct] = parts(box.encrypt(SECRET, 'org-a'));
    const tampered = [
      [v, flipBit(iv), tag, ct],
      [v, iv, flipBit(tag), ct],
      [v, iv, flipBit(tag, 15), ct],
      [v, iv, tag, flipBit(ct)],
      [v, iv, tag, flipBit(ct, 7)],
      [v, iv, tag, ct.slice(0, -2)],
      ['v2', iv, tag, ct],
      [v, iv, tag],
      [v, '', tag, ct],
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
    const [v, iv, tag, ct] = parts(box.encrypt(SECRET, 'org-a'));
    for (const bytes of [4, 8, 12, 15]) {
      const short = Buffer.from(tag, 'base64url').subarray(0, bytes).toString('base64url');
      expect(() => box.decrypt([v, iv, short, ct].join('.'), 'org-a')).toThrow(
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
