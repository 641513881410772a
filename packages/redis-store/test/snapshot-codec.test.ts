import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bucketOfPrefix,
  decodeEntry,
  encodeEntry,
  encodeStagePage,
  keyPrefix,
  type RecordUser,
  readEntry,
  SnapshotEncodingError,
  userIdOfKey,
} from '../src/snapshot-codec.js';

const guid = '0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3';

/** A user ID's sort key, as its entry holds it (`[k] key(k bytes) ...`). */
function userKey(id: string): Buffer {
  const entry = encodeEntry(user({ id }), []);
  return entry.subarray(1, 1 + (entry[0] as number));
}

function user(patch: Partial<RecordUser> = {}): RecordUser {
  return {
    id: guid,
    displayName: 'Adele Vance',
    mail: 'adele@contoso.com',
    userPrincipalName: 'adele.vance@contoso.onmicrosoft.com',
    accountEnabled: true,
    ...patch,
  };
}

describe('snapshot records', () => {
  it('round-trip every field, null and not, through an entry', () => {
    const cases: RecordUser[] = [
      user(),
      user({ mail: null, displayName: null }),
      user({ userPrincipalName: null }),
      user({ accountEnabled: false }),
      user({ accountEnabled: null }),
      user({ mail: 'adele.vance@contoso.onmicrosoft.com' }), // mail is the UPN
      user({ displayName: '', mail: '' }),
      user({ displayName: 'Zoë Ångström 李雷 🚀', mail: 'zoë@exämple.com' }),
      user({ displayName: 'x'.repeat(200), mail: `${'é'.repeat(300)}@x.test` }),
      user({ id: 'not-a-guid' }),
      user({ id: guid.toUpperCase() }),
      user({ id: `${guid}x` }),
      user({ id: guid.replaceAll('-', '') }),
      user({ id: 'é' }),
    ];
    for (const u of cases) {
      const entry = encodeEntry(u, [3, 1, 3]);
      const { id, ...fields } = u;
      expect(readEntry(entry), JSON.stringify(u)).toEqual({ id, groups: [1, 3], fields });
      // As served: the domain's user model, a missing accountEnabled enabled.
      expect(decodeEntry(entry, ['g1', 'g2', 'g3'])).toEqual({
        ...u,
        userPrincipalName: u.userPrincipalName ?? '',
        accountEnabled: u.accountEnabled ?? true,
        groupIds: ['g1', 'g3'],
      });
    }
  });

  it('keeps the ID out of the fields and a GUID in 16 bytes', () => {
    const entry = encodeEntry(user(), [1]);
    const plain = Buffer.byteLength(
      user().displayName + (user().mail as string) + (user().userPrincipalName as string),
    );
    // k, 16 + marker, group count, one group, flags, three length bytes.
    expect(entry.length).toBe(1 + 17 + 1 + 1 + 1 + 3 + plain);
    // A mail equal to the UPN costs nothing.
    const same = encodeEntry(user({ mail: user().userPrincipalName }), [1]);
    expect(same.length).toBe(entry.length - Buffer.byteLength(user().mail as string) - 1);
  });

  it('a staging page holds each user as its entry does, grouped by bucket', () => {
    const users = [user(), user({ id: 'plain', mail: null }), user({ id: randomUUID() })];
    for (const bits of [0, 1, 8]) {
      const page = encodeStagePage(users, bits);
      const records = page.flatMap(({ bucket, records: blob }) => {
        const out: { bucket: number; key: Buffer; body: Buffer }[] = [];
        for (let p = 0; p < blob.length; ) {
          const k = blob[p] as number;
          const length = blob.readUInt16BE(p + 1 + k);
          out.push({
            bucket,
            key: blob.subarray(p + 1, p + 1 + k),
            body: blob.subarray(p + 3 + k, p + 3 + k + length),
          });
          p += 3 + k + length;
        }
        return out;
      });
      expect(records).toHaveLength(users.length);
      for (const u of users) {
        const entry = encodeEntry(u, []);
        const k = entry[0] as number;
        const key = entry.subarray(1, 1 + k);
        const record = records.find((r) => r.key.equals(key));
        expect(record?.body).toEqual(entry.subarray(2 + k));
        expect(record?.bucket).toBe(bucketOfPrefix(keyPrefix(key, 0, k), bits));
      }
    }
  });

  it('orders GUID keys as their lower-case text, and buckets by the leading bits', () => {
    const ids = Array.from({ length: 500 }, () => randomUUID());
    const byText = [...ids].sort();
    const byKey = [...ids].sort((a, b) => Buffer.compare(userKey(a), userKey(b)));
    expect(byKey).toEqual(byText);
    for (const bits of [0, 1, 5, 14]) {
      const buckets = byText.map((id) => {
        const key = userKey(id);
        return bucketOfPrefix(keyPrefix(key, 0, key.length), bits);
      });
      expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);
      expect(Math.max(...buckets)).toBeLessThan(2 ** bits);
    }
    for (const id of ids) {
      const key = userKey(id);
      expect(userIdOfKey(key, 0, key.length)).toBe(id);
    }
  });

  it('refuses what it cannot store rather than store it wrong', () => {
    expect(() => encodeEntry(user({ id: '' }), [])).toThrow(SnapshotEncodingError);
    expect(() => encodeEntry(user({ id: 'x'.repeat(255) }), [])).toThrow(SnapshotEncodingError);
    expect(() => encodeEntry(user({ displayName: 'x'.repeat(16_384) }), [])).toThrow(
      SnapshotEncodingError,
    );
    expect(() => encodeEntry(user(), [256])).toThrow(SnapshotEncodingError);
    expect(() => encodeEntry(user(), [0])).toThrow(SnapshotEncodingError);
    expect(() => decodeEntry(encodeEntry(user(), [2]), ['only-one'])).toThrow(
      SnapshotEncodingError,
    );
    expect(() => readEntry(Buffer.from([5, 1]))).toThrow(SnapshotEncodingError);
  });
});
