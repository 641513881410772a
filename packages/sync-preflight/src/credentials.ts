import {
  buildFailure,
  type CertificateState,
  type FailureContext,
  planCertificateAttempts,
} from '@pinnacle/domain';
import {
  clientCertificateProblem,
  EntraTokenError,
  type GraphToken,
  GraphTokenProvider,
} from '@pinnacle/entra-graph';
import { SyncStoppedError } from './sync-errors.js';
import { tokenFailure } from './token-errors.js';

/** A certificate of the org, as the sync sees it: public parts only. */
export interface SyncCertificate extends CertificateState {
  certificatePem: string;
}

/** Where the sync gets the org's certificates and, one at a time, their private keys. */
export interface CertificateSource {
  certificates: readonly SyncCertificate[];
  /** The private key, decrypted; null when it is gone (retired meanwhile). */
  revealPrivateKey(id: string): Promise<string | null>;
  /** Entra accepted this certificate: record it (activate it, retire older ones). */
  onAccepted?(certificate: SyncCertificate): Promise<void>;
}

/** How the sync authenticates, as the org's settings say. */
export type SyncCredential =
  | { type: 'client_secret'; clientSecret: string }
  | { type: 'certificate'; source: CertificateSource };

export interface Authenticated {
  tokens: GraphTokenProvider;
  token: GraphToken;
  /** Token requests of credentials Entra refused before one was accepted (older certificates tried). */
  refusedTokenRequests: number;
  /** The certificate Entra accepted, when authenticating with certificates. */
  certificate: SyncCertificate | null;
}

export interface AuthenticateInput {
  credential: SyncCredential;
  tenantId: string;
  clientId: string;
  authorityHost: string;
  now: Date;
  timeoutMs?: number | undefined;
  context: FailureContext;
}

function stop(failure: ReturnType<typeof buildFailure>): never {
  throw new SyncStoppedError(failure, 'preflight');
}

async function firstToken(tokens: GraphTokenProvider, context: FailureContext) {
  try {
    return await tokens.getToken();
  } catch (error) {
    if (error instanceof EntraTokenError) throw tokenFailure(error, 'preflight', context);
    throw error;
  }
}

/**
 * The sync's first token, and the provider that renews it for the rest of
 * the sync. With a client secret, one try. With certificates: the newest
 * usable one first, then each older one while Entra answers AADSTS700027
 * (the newer one is not uploaded to the app registration yet), so a
 * rotation never fails a run. None at all is `settings_incomplete`
 * (`certificate` missing); all expired is `certificate_expired`, decided
 * here without asking Entra; all refused is `certificate_not_registered`,
 * naming the newest one's thumbprint (the one to upload).
 */
export async function authenticate(input: AuthenticateInput): Promise<Authenticated> {
  const base = {
    authorityHost: input.authorityHost,
    tenantId: input.tenantId,
    clientId: input.clientId,
    ...(input.timeoutMs ? { timeoutMs: input.timeoutMs } : {}),
  };
  if (input.credential.type === 'client_secret') {
    const tokens = new GraphTokenProvider({ ...base, clientSecret: input.credential.clientSecret });
    const token = await firstToken(tokens, input.context);
    return { tokens, token, refusedTokenRequests: 0, certificate: null };
  }

  const { source } = input.credential;
  const context: FailureContext = { ...input.context, authMethod: 'certificate' };
  const plan = planCertificateAttempts(source.certificates, input.now);
  if (plan.kind === 'none')
    stop(buildFailure('settings_incomplete', { missing: ['certificate'] }, context));
  if (plan.kind === 'expired') {
    stop(
      buildFailure(
        'certificate_expired',
        {
          certificateId: plan.newest.id,
          thumbprint: plan.newest.thumbprint,
          notAfter: plan.newest.notAfter,
        },
        context,
      ),
    );
  }

  const refused: { certificate: SyncCertificate; failure: SyncStoppedError }[] = [];
  let refusedTokenRequests = 0;
  for (const certificate of plan.candidates) {
    const privateKeyPem = await source.revealPrivateKey(certificate.id);
    if (privateKeyPem === null) continue; // retired meanwhile: its key is gone
    const material = { certificatePem: certificate.certificatePem, privateKeyPem };
    const problem = clientCertificateProblem(material);
    if (problem) {
      // Our own data is broken: falling back would only hide it.
      stop(buildFailure('internal_error', { reason: `certificate_unusable: ${problem}` }, context));
    }
    const tokens = new GraphTokenProvider({ ...base, certificate: material });
    try {
      const token = await tokens.getToken();
      await source.onAccepted?.(certificate);
      return { tokens, token, refusedTokenRequests, certificate };
    } catch (error) {
      if (!(error instanceof EntraTokenError)) throw error;
      refusedTokenRequests += tokens.stats.tokenRequests;
      const failure = tokenFailure(error, 'preflight', context);
      // Only "not registered" moves on to an older certificate; anything else is the answer.
      if (
        failure instanceof SyncStoppedError &&
        failure.failure.code === 'certificate_not_registered'
      ) {
        refused.push({ certificate, failure });
        continue;
      }
      throw failure;
    }
  }
  const newest = refused[0];
  // Every candidate's key vanished (retired while this sync read them).
  if (!newest) stop(buildFailure('settings_incomplete', { missing: ['certificate'] }, context));
  stop(
    buildFailure(
      'certificate_not_registered',
      {
        ...newest.failure.failure.details,
        certificateId: newest.certificate.id,
        thumbprint: newest.certificate.thumbprint,
        ...(refused.length > 1
          ? { triedThumbprints: refused.map((r) => r.certificate.thumbprint) }
          : {}),
      },
      context,
    ),
  );
}
