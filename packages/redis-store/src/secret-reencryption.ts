import type { CertificateRepository } from './certificate-repository.js';
import type { IntegrationRepository } from './integration-repository.js';
import { SecretDecryptionError, type SecretDecryptionReason } from './secret-box.js';

/** What happened to one stored secret. */
export type ResealResult =
  | { outcome: 'reencrypted' | 'current' }
  | {
      outcome: 'failed';
      /** Why, as a code: never the value or the key. */
      reason: SecretDecryptionReason | 'unreadable';
      /** Which of the org's values of this kind (e.g. a certificate ID); absent for one per org. */
      item?: string;
    };

/**
 * One kind of secret the service stores sealed. Client secrets are the first;
 * certificate private keys slot in as another kind, from their own
 * repository, without the runner or the command changing.
 */
export interface SealedSecretKind {
  /**
   * Reported as is, e.g. `client-secret`: kebab-case, since the logger
   * redacts keys named like `client_secret` wherever they appear.
   */
  readonly name: string;
  /** Re-seals every value of this kind that the org stores; one result per value, none if it has none. */
  reseal(orgId: string): Promise<ResealResult[]>;
}

/** One org's client secret (the integration record). */
export function clientSecretKind(integrations: IntegrationRepository): SealedSecretKind {
  return {
    name: 'client-secret',
    async reseal(orgId) {
      try {
        const outcome = await integrations.resealSecret(orgId);
        return outcome === 'absent' ? [] : [{ outcome }];
      } catch (error) {
        if (error instanceof SecretDecryptionError) {
          return [{ outcome: 'failed', reason: error.reason }];
        }
        throw error;
      }
    },
  };
}

/** Each of one org's certificate private keys; `item` names the certificate. */
export function certificateKeyKind(certificates: CertificateRepository): SealedSecretKind {
  return {
    name: 'certificate-key',
    async reseal(orgId) {
      const results = await certificates.resealKeys(orgId);
      return results.map((r): ResealResult => {
        if (r.outcome !== 'failed') return { outcome: r.outcome };
        return {
          outcome: 'failed',
          reason: r.error instanceof SecretDecryptionError ? r.error.reason : 'unreadable',
          item: r.id,
        };
      });
    },
  };
}

export interface ReencryptionCounts {
  reencrypted: number;
  alreadyCurrent: number;
  failed: number;
}

export interface ReencryptionFailure {
  orgId: string;
  kind: string;
  reason: string;
  item?: string;
}

export interface ReencryptionReport extends ReencryptionCounts {
  /** The ID of the key everything is now sealed with (SECRET_ENCRYPTION_KEY's). */
  currentKeyId: string;
  orgs: number;
  byKind: Record<string, ReencryptionCounts>;
  /** Org IDs and reasons only: no secret, no key. */
  failures: ReencryptionFailure[];
}

export interface ReencryptionOptions {
  /** Orgs to visit, in batches (IntegrationRepository.orgIdBatches). */
  orgIdBatches: AsyncIterable<string[]>;
  kinds: readonly SealedSecretKind[];
  currentKeyId: string;
  /** Orgs worked on at once. Default 8. */
  concurrency?: number;
  /** Called for each failure as it happens (the command logs it). */
  onFailure?: (failure: ReencryptionFailure) => void;
}

const zero = (): ReencryptionCounts => ({ reencrypted: 0, alreadyCurrent: 0, failed: 0 });

/**
 * Re-seals every stored secret of every kind with the current key. Safe to
 * run again at any time (a value already under the current key is left
 * alone), and alongside the running service (each write is a
 * compare-and-set on the record). A value no configured key opens is
 * counted and named by org, and the run goes on.
 */
export async function reencryptSecrets(options: ReencryptionOptions): Promise<ReencryptionReport> {
  const report: ReencryptionReport = {
    currentKeyId: options.currentKeyId,
    orgs: 0,
    ...zero(),
    byKind: Object.fromEntries(options.kinds.map((k) => [k.name, zero()])),
    failures: [],
  };
  const count = (kind: string, field: keyof ReencryptionCounts) => {
    report[field]++;
    const counts = report.byKind[kind];
    if (counts) counts[field]++;
  };
  const fail = (failure: ReencryptionFailure) => {
    count(failure.kind, 'failed');
    report.failures.push(failure);
    options.onFailure?.(failure);
  };
  const visit = async (orgId: string) => {
    report.orgs++;
    for (const kind of options.kinds) {
      let results: ResealResult[];
      try {
        results = await kind.reseal(orgId);
      } catch {
        // A record this version cannot read; the others still get done.
        fail({ orgId, kind: kind.name, reason: 'unreadable' });
        continue;
      }
      for (const result of results) {
        if (result.outcome === 'failed') {
          fail({
            orgId,
            kind: kind.name,
            reason: result.reason,
            ...(result.item !== undefined ? { item: result.item } : {}),
          });
        } else {
          count(kind.name, result.outcome === 'reencrypted' ? 'reencrypted' : 'alreadyCurrent');
        }
      }
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? 8);
  for await (const batch of options.orgIdBatches) {
    for (let i = 0; i < batch.length; i += concurrency) {
      await Promise.all(batch.slice(i, i + concurrency).map(visit));
    }
  }
  return report;
}
