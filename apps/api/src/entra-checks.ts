import { buildFailure, type SyncFailure } from '@pinnacle/domain';
import { SecretDecryptionError } from '@pinnacle/redis-store';
import type { ConnectInput, PreflightSettings } from '@pinnacle/sync-preflight';
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
 * The org's stored settings and decrypted secret, as preflight takes them,
 * bounded for a person waiting; or, when no configured key opens the stored
 * secret, the failure to answer with (the admin enters the secret again).
 * `holdSecret` keeps the clear secret out of every log line until the
 * response is done.
 */
export async function storedConnectInput(
  deps: ApiDeps,
  orgId: string,
  holdSecret: (secret: string) => void,
): Promise<{ input: ConnectInput } | { failure: SyncFailure }> {
  const integration = await deps.stores.integrations.get(orgId);
  let clientSecret: string | null = null;
  if (integration) {
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
