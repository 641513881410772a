import { authMethodOf, buildFailure, type SyncFailure } from '@pinnacle/domain';
import { pemSecretParts } from '@pinnacle/logging';
import { SecretDecryptionError } from '@pinnacle/redis-store';
import {
  type CertificateSource,
  type ConnectInput,
  type PreflightSettings,
  SyncStoppedError,
} from '@pinnacle/sync-preflight';
import type { ApiDeps } from './deps.js';
import { ApiError } from './errors.js';

/** What preflight reads when an org has no settings: it stops on `settings_incomplete`. */
const NO_SETTINGS: PreflightSettings = {
  tenantId: null,
  clientId: null,
  groupIds: [],
  secret: null,
  includeDisabledUsers: false,
  massRemovalGuard: { maxRemovedPercent: 20, minRemovedUsers: 10 },
};

/**
 * An org's certificates for a check: each private key decrypted only when
 * it is tried, and held out of the logs. A check records no acceptance:
 * only a sync moves a certificate from pending to active.
 */
async function certificateSource(
  deps: ApiDeps,
  orgId: string,
  holdSecret: (secret: string) => void,
): Promise<CertificateSource> {
  const certificates = await deps.stores.certificates.list(orgId);
  return {
    certificates,
    async revealPrivateKey(id) {
      try {
        const key = await deps.stores.certificates.revealPrivateKey(orgId, id);
        if (key) for (const part of pemSecretParts(key)) holdSecret(part);
        return key;
      } catch (error) {
        if (!(error instanceof SecretDecryptionError)) throw error;
        deps.logger.error(
          { orgId, certificateId: id, reason: error.message },
          'stored certificate key does not decrypt',
        );
        throw new SyncStoppedError(
          buildFailure('internal_error', { reason: 'certificate_key_undecryptable' }),
          'preflight',
        );
      }
    },
  };
}

/**
 * The org's stored settings and decrypted credential, as preflight takes
 * them, bounded for a person waiting: the secret, or for an org on
 * certificates its certificates (keys decrypted one at a time as tried);
 * or, when no configured key opens the stored secret, the failure to answer
 * with (the admin enters the secret again). `holdSecret` keeps clear
 * credentials out of every log line until the response is done.
 */
export async function storedConnectInput(
  deps: ApiDeps,
  orgId: string,
  holdSecret: (secret: string) => void,
): Promise<{ input: ConnectInput } | { failure: SyncFailure }> {
  const integration = await deps.stores.integrations.get(orgId);
  let clientSecret: string | null = null;
  const onCertificates = integration !== null && authMethodOf(integration) === 'certificate';
  if (integration && !onCertificates) {
    try {
      clientSecret = deps.stores.integrations.revealSecret(integration);
    } catch (error) {
      if (!(error instanceof SecretDecryptionError)) throw error;
      deps.logger.error({ orgId, reason: error.message }, 'stored client secret does not decrypt');
      return { failure: buildFailure('internal_error', { reason: 'secret_undecryptable' }) };
    }
    if (clientSecret) holdSecret(clientSecret);
  }
  return {
    input: {
      integration: integration ?? NO_SETTINGS,
      clientSecret,
      ...(onCertificates ? { certificates: await certificateSource(deps, orgId, holdSecret) } : {}),
      endpoints: deps.entra.endpoints,
      now: deps.clock(),
      graphTimeoutMs: deps.entra.timeoutMs,
      graphRetries: {
        maxRetries: deps.entra.maxRetries,
        maxRetryDelayMs: deps.entra.maxRetryDelayMs,
      },
    },
  };
}

/** 409 with the failure an admin can act on (settings, credentials, consent). */
export function entraCheckFailed(failure: SyncFailure): ApiError {
  return new ApiError(409, 'entra_check_failed', undefined, `${failure.title}.`, undefined, {
    failure,
  });
}

/** 502: Entra ID or Graph did not answer well enough to decide; retry. */
export function entraUnreachable(failure: SyncFailure): ApiError {
  return new ApiError(502, 'entra_unreachable', undefined, `${failure.title}.`, undefined, {
    failure,
  });
}
