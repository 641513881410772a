import {
  acceptanceChanges,
  authMethodOf,
  certificateStatusSchema,
  currentCertificate,
  isUsableCertificate,
  MAX_UNRETIRED_CERTIFICATES,
  newestFirst,
} from '@pinnacle/domain';
import { z } from 'zod';
import { storedIntegrationSchema } from './integration-repository.js';
import { globalKeys, orgKeys } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { defineScript } from './redis-script.js';
import type { SecretBox } from './secret-box.js';
import { OrgOffboardedError } from './write-fence.js';
import { withScores } from './zset.js';

/** A certificate as stored: public parts and status. Its private key lives apart, sealed. */
export const storedCertificateSchema = z.object({
  id: z.string(),
  orgId: z.string(),
  subject: z.string(),
  thumbprint: z.string(),
  thumbprintSha256: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  certificatePem: z.string(),
  status: certificateStatusSchema,
  createdAt: z.string(),
  activatedAt: z.string().nullable(),
  retiredAt: z.string().nullable(),
  /** `rotated`: a newer one was accepted; `admin`: retired through the API. */
  retiredReason: z.enum(['rotated', 'admin']).nullable(),
});
export type StoredCertificate = z.infer<typeof storedCertificateSchema>;

const certificateSetSchema = z.object({
  revision: z.number().int(),
  items: z.array(storedCertificateSchema),
});
type CertificateSet = z.infer<typeof certificateSetSchema>;

/** What the service made: the certificate and the key to seal. */
export interface NewCertificate {
  id: string;
  subject: string;
  thumbprint: string;
  thumbprintSha256: string;
  notBefore: Date;
  notAfter: Date;
  certificatePem: string;
  privateKeyPem: string;
}

export type CreateCertificateResult =
  | { outcome: 'created'; certificate: StoredCertificate }
  /** MAX_UNRETIRED_CERTIFICATES are not retired yet: retire one first. */
  | { outcome: 'limit_reached'; limit: number };

export type RetireCertificateResult =
  | { outcome: 'retired' | 'already_retired'; certificate: StoredCertificate }
  | { outcome: 'not_found' }
  /** The org authenticates with certificates and this is its last usable one. */
  | { outcome: 'last_usable'; certificate: StoredCertificate };

export interface AcceptanceResult {
  /** The accepted certificate, as it is now. */
  accepted: StoredCertificate | null;
  /** It was pending and is now active. */
  activated: boolean;
  /** Older certificates this acceptance retired (the admin may remove them from the app registration). */
  retired: StoredCertificate[];
}

/** Retired certificates kept for the list (newest first); older ones are forgotten. */
const RETIRED_KEPT = 20;
const MAX_OPTIMISTIC_RETRIES = 10;

/** The additional data a private key is sealed with: it opens for this org and certificate only. */
export function certificateKeyContext(orgId: string, certificateId: string): string {
  return `certificate-key:${orgId}:${certificateId}`;
}

// Replaces the certificates doc if its revision (and, unless
// integrationRevision is '', the integration's) is still the one read;
// seal: id/sealed pairs to set in the keys hash, drop: ids to delete.
// Returns 1, or 0 when either changed meanwhile.
const writeCertificates = defineScript({
  name: 'writeCertificates',
  keys: ['certificates', 'privateKeys', 'integration'],
  args: ['revision', 'integrationRevision', 'doc', '...seal', '...drop'],
  lua: `
local cur = redis.call('GET', certificates)
local rev = 0
if cur then rev = cjson.decode(cur).revision end
if tostring(rev) ~= revision then return 0 end
if integrationRevision ~= '' then
  local record = redis.call('GET', integration)
  local irev = 0
  if record then irev = cjson.decode(record).revision end
  if tostring(irev) ~= integrationRevision then return 0 end
end
redis.call('SET', certificates, doc)
for i = 1, #seal, 2 do redis.call('HSET', privateKeys, seal[i], seal[i + 1]) end
for _, id in ipairs(drop) do redis.call('HDEL', privateKeys, id) end
return 1
`,
  parse: z.union([z.literal(0), z.literal(1)]),
});

// Replaces one sealed key if it is still `expected`: 1, else 0.
const resealCertificateKey = defineScript({
  name: 'resealCertificateKey',
  keys: ['privateKeys'],
  args: ['id', 'expected', 'sealed'],
  lua: `
if redis.call('HGET', privateKeys, id) ~= expected then return 0 end
redis.call('HSET', privateKeys, id, sealed)
return 1
`,
  parse: z.union([z.literal(0), z.literal(1)]),
});

/**
 * The certificates of each org. Public parts and statuses are one JSON
 * document per org, written by compare-and-set on its revision (a create, an
 * admin's retire and a sync's acceptance may race); private keys are sealed
 * with the service's keyring under their own context and kept in a hash
 * beside it, deleted as soon as a certificate is retired. Every key of an
 * org is under its `{o:<orgId>}` tag; the expiry index is the one global key.
 */
export class CertificateRepository {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly secretBox: SecretBox,
  ) {}

  /** The org's certificates, newest first (retired ones included). */
  async list(orgId: string): Promise<StoredCertificate[]> {
    return newestFirst((await this.read(orgId)).items);
  }

  async get(orgId: string, id: string): Promise<StoredCertificate | null> {
    return (await this.read(orgId)).items.find((c) => c.id === id) ?? null;
  }

  /**
   * The private key, for the worker's token request only; null when the
   * certificate has none (retired, or never stored). Throws
   * SecretDecryptionError when no configured key opens it.
   */
  async revealPrivateKey(orgId: string, id: string): Promise<string | null> {
    const sealed = await this.redis.hget(orgKeys(this.prefix, orgId).certificateKeys, id);
    return sealed === null
      ? null
      : this.secretBox.decrypt(sealed, certificateKeyContext(orgId, id));
  }

  /** Stores a new certificate (pending) with its key sealed; refused past the limit. */
  async create(
    orgId: string,
    made: NewCertificate,
    now: Date = new Date(),
  ): Promise<CreateCertificateResult> {
    const sealed = this.secretBox.encrypt(
      made.privateKeyPem,
      certificateKeyContext(orgId, made.id),
    );
    const certificate: StoredCertificate = {
      id: made.id,
      orgId,
      subject: made.subject,
      thumbprint: made.thumbprint,
      thumbprintSha256: made.thumbprintSha256,
      notBefore: made.notBefore.toISOString(),
      notAfter: made.notAfter.toISOString(),
      certificatePem: made.certificatePem,
      status: 'pending',
      createdAt: now.toISOString(),
      activatedAt: null,
      retiredAt: null,
      retiredReason: null,
    };
    let offboarded = false;
    const result = await this.write(
      orgId,
      (set, integration) => {
        // Certificates belong to an integration: none once the org is offboarded.
        if (integration === null) {
          offboarded = true;
          return null;
        }
        const unretired = set.items.filter((c) => c.status !== 'retired').length;
        if (unretired >= MAX_UNRETIRED_CERTIFICATES) return null;
        return { items: [...set.items, certificate], seal: [[made.id, sealed]], drop: [] };
      },
      { checkIntegration: true },
    );
    if (offboarded) throw new OrgOffboardedError(orgId);
    return result
      ? { outcome: 'created', certificate }
      : { outcome: 'limit_reached', limit: MAX_UNRETIRED_CERTIFICATES };
  }

  /**
   * Retires a certificate at an admin's request and deletes its key. Refused
   * (`last_usable`) when the org authenticates with certificates and no
   * other usable one would be left: that would stop its syncs.
   */
  async retire(
    orgId: string,
    id: string,
    now: Date = new Date(),
  ): Promise<RetireCertificateResult> {
    let outcome: RetireCertificateResult = { outcome: 'not_found' };
    await this.write(
      orgId,
      (set, integration) => {
        const target = set.items.find((c) => c.id === id);
        if (!target) {
          outcome = { outcome: 'not_found' };
          return null;
        }
        if (target.status === 'retired') {
          outcome = { outcome: 'already_retired', certificate: target };
          return null;
        }
        const onCertificates = integration !== null && authMethodOf(integration) === 'certificate';
        const othersUsable = set.items.some((c) => c.id !== id && isUsableCertificate(c, now));
        if (onCertificates && isUsableCertificate(target, now) && !othersUsable) {
          outcome = { outcome: 'last_usable', certificate: target };
          return null;
        }
        const retired: StoredCertificate = {
          ...target,
          status: 'retired',
          retiredAt: now.toISOString(),
          retiredReason: 'admin',
        };
        outcome = { outcome: 'retired', certificate: retired };
        return { items: set.items.map((c) => (c.id === id ? retired : c)), seal: [], drop: [id] };
      },
      { checkIntegration: true },
    );
    return outcome;
  }

  /**
   * Entra accepted this certificate: it becomes active if it was pending,
   * and every older one not yet retired is retired (its key deleted). Does
   * nothing when there is nothing to change, so every sync may call it.
   */
  async markAccepted(orgId: string, id: string, now: Date = new Date()): Promise<AcceptanceResult> {
    let result: AcceptanceResult = { accepted: null, activated: false, retired: [] };
    await this.write(orgId, (set) => {
      const { activate, retire } = acceptanceChanges(set.items, id);
      const current = set.items.find((c) => c.id === id) ?? null;
      result = { accepted: current, activated: false, retired: [] };
      if (!activate && retire.length === 0) return null;
      const at = now.toISOString();
      const retiring = new Set(retire.map((c) => c.id));
      const items = set.items.map((c): StoredCertificate => {
        if (c.id === id && activate) return { ...c, status: 'active', activatedAt: at };
        if (retiring.has(c.id)) {
          return { ...c, status: 'retired', retiredAt: at, retiredReason: 'rotated' };
        }
        return c;
      });
      result = {
        accepted: items.find((c) => c.id === id) ?? null,
        activated: activate,
        retired: items.filter((c) => retiring.has(c.id)),
      };
      return { items, seal: [], drop: [...retiring] };
    });
    return result;
  }

  /**
   * Re-seals each stored private key of the org with the current encryption
   * key (key rotation); one outcome per key. A concurrent retire wins (the
   * key is gone, nothing to do). Throws nothing for a key no configured key
   * opens: it is reported as `failed` with the certificate's ID.
   */
  async resealKeys(
    orgId: string,
  ): Promise<{ id: string; outcome: 'reencrypted' | 'current' | 'failed'; error?: unknown }[]> {
    const key = orgKeys(this.prefix, orgId).certificateKeys;
    const sealed = await this.redis.hgetall(key);
    const results: {
      id: string;
      outcome: 'reencrypted' | 'current' | 'failed';
      error?: unknown;
    }[] = [];
    for (const [id, value] of Object.entries(sealed)) {
      try {
        const opened = this.secretBox.open(value, certificateKeyContext(orgId, id));
        if (opened.current) {
          results.push({ id, outcome: 'current' });
          continue;
        }
        const next = this.secretBox.encrypt(opened.plaintext, certificateKeyContext(orgId, id));
        // 0: retired (deleted) meanwhile; nothing is left to re-seal.
        await resealCertificateKey(this.redis, {
          keys: { privateKeys: key },
          args: { id, expected: value, sealed: next },
        });
        results.push({ id, outcome: 'reencrypted' });
      } catch (error) {
        results.push({ id, outcome: 'failed', error });
      }
    }
    return results;
  }

  /** Org IDs whose current certificate expires at or before `until`, soonest first. */
  async orgsWithCertificateExpiringBefore(
    until: Date,
  ): Promise<{ orgId: string; notAfter: Date }[]> {
    const flat = await this.redis.zrangebyscore(
      globalKeys(this.prefix).certificateExpiry,
      '-inf',
      until.getTime(),
      'WITHSCORES',
    );
    return withScores(flat).map(({ member, score }) => ({
      orgId: member,
      notAfter: new Date(score),
    }));
  }

  private async read(orgId: string): Promise<CertificateSet> {
    const json = await this.redis.get(orgKeys(this.prefix, orgId).certificates);
    return json ? certificateSetSchema.parse(JSON.parse(json)) : { revision: 0, items: [] };
  }

  /**
   * Optimistic read-modify-write of the org's certificates (and their keys).
   * `change` returns null to write nothing. With `checkIntegration`, the
   * integration record must not change in between either (a decision that
   * reads its auth method).
   */
  private async write(
    orgId: string,
    change: (
      set: CertificateSet,
      integration: z.infer<typeof storedIntegrationSchema> | null,
    ) => { items: StoredCertificate[]; seal: [string, string][]; drop: string[] } | null,
    options: { checkIntegration?: boolean } = {},
  ): Promise<boolean> {
    const keys = orgKeys(this.prefix, orgId);
    for (let attempt = 0; attempt < MAX_OPTIMISTIC_RETRIES; attempt++) {
      const [set, integrationJson] = await Promise.all([
        this.read(orgId),
        options.checkIntegration ? this.redis.get(keys.integration) : Promise.resolve(null),
      ]);
      const integration = integrationJson
        ? storedIntegrationSchema.parse(JSON.parse(integrationJson))
        : null;
      const next = change(set, integration);
      if (next === null) return false;
      const doc: CertificateSet = { revision: set.revision + 1, items: trimRetired(next.items) };
      const written = await writeCertificates(this.redis, {
        keys: {
          certificates: keys.certificates,
          privateKeys: keys.certificateKeys,
          integration: keys.integration,
        },
        args: {
          revision: String(set.revision),
          integrationRevision: options.checkIntegration ? String(integration?.revision ?? 0) : '',
          doc: JSON.stringify(doc),
          seal: next.seal.flat(),
          drop: next.drop,
        },
      });
      if (written !== 1) continue;
      await this.updateIndex(orgId, doc);
      return true;
    }
    throw new Error(`Could not save the certificates of org ${orgId}: too many concurrent writes`);
  }

  /**
   * The expiry index follows the org's current certificate. Written after
   * the record (another slot); re-read so the last index write always comes
   * from the latest record, as the integration's index does.
   */
  private async updateIndex(orgId: string, written: CertificateSet): Promise<void> {
    const index = globalKeys(this.prefix).certificateExpiry;
    let doc = written;
    for (let attempt = 0; attempt < MAX_OPTIMISTIC_RETRIES; attempt++) {
      const current = currentCertificate(doc.items);
      if (current) await this.redis.zadd(index, Date.parse(current.notAfter), orgId);
      else await this.redis.zrem(index, orgId);
      const latest = await this.read(orgId);
      if (latest.revision === doc.revision) return;
      doc = latest;
    }
  }
}

/** Keeps every certificate not retired, and the newest RETIRED_KEPT retired ones. */
function trimRetired(items: StoredCertificate[]): StoredCertificate[] {
  const retired = newestFirst(items.filter((c) => c.status === 'retired'));
  const dropped = new Set(retired.slice(RETIRED_KEPT).map((c) => c.id));
  return items.filter((c) => !dropped.has(c.id));
}
