import type { RegisteredCertificateSummary } from './app-certificates.js';
import type { LogQuery, RequestLogEntry, SimulatorCounters } from './request-log.js';
import type {
  ClientAssertionReplay,
  FaultSpec,
  FaultSpecInput,
  SimulatorSettings,
  SimulatorSettingsPatch,
  TenantInput,
  TenantSettings,
  TenantSettingsPatch,
  UnknownTenantMode,
} from './schemas.js';
import type { TenantSummary } from './tenants.js';

/*
 * The simulator as its users hold it: what startSimulator (server.ts) takes
 * and returns. Apart from the server so the control API can drive a simulator
 * without importing the server that mounts it.
 */

export interface SimulatorOptions {
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Port; default 0 (any free port). */
  port?: number;
  /** Also write the CA certificate (PEM) here, for NODE_EXTRA_CA_CERTS. */
  caPath?: string;
  /** Tenants to serve from the start. */
  tenants?: readonly TenantInput[];
  /** Entries the request log keeps; default 10,000. */
  requestLogSize?: number;
  /** Lifetime of issued access tokens (tenants may set their own); default 3599 s as Entra reports it. */
  tokenLifetimeSeconds?: number;
  /** Clock skew Graph tolerates past a token's exp; default 300 s, as Graph. */
  clockSkewSeconds?: number;
  /** Where an unknown tenant fails; default `metadata_discovery` (see UnknownTenantMode). */
  unknownTenantFailsAt?: UnknownTenantMode;
  /** Entra's clock against this machine's for client assertions; default 0. */
  entraClockOffsetSeconds?: number;
  /** A client assertion sent again: default `accept`, as Entra (see ClientAssertionReplay). */
  clientAssertionReplay?: ClientAssertionReplay;
}

/** A certificate to register on an app (the public part, as uploaded in the admin center). */
export interface AppCertificateInput {
  /** PEM, or the base64 of the DER. */
  certificatePem: string;
  /** Default: a new GUID. */
  keyId?: string;
  displayName?: string;
}

export interface MintTokenOptions {
  tenant: string;
  appId: string;
  /** Default: the roles the app would get now. */
  roles?: string[];
  /** Negative for an already expired token. */
  expiresInSeconds?: number;
}

export interface FaultState {
  faults: FaultSpec;
  requestsSinceSet: number;
}

export interface Simulator {
  /** Base URL, e.g. https://127.0.0.1:8443 */
  url: string;
  /** For ClientSecretCredential's `authorityHost` (and ENTRA_AUTHORITY_HOST). */
  authorityHost: string;
  /** For GRAPH_BASE_URL: Graph paths (/v1.0/...) are served under it. */
  graphBaseUrl: string;
  port: number;
  caCertPem: string;
  caPath: string | undefined;
  addTenant(input: TenantInput): TenantSummary;
  /** False when no such tenant. */
  removeTenant(idOrDomain: string): boolean;
  tenants(): TenantSummary[];
  /** Replaces the tenant's faults (see FaultSpecInput); throws SimulatorError. */
  setFaults(idOrDomain: string, faults: FaultSpecInput): FaultState;
  /** Clears one tenant's faults, or every tenant's. */
  clearFaults(idOrDomain?: string): void;
  faults(idOrDomain: string): FaultState;
  /** Recent requests, oldest first (bounded ring). */
  requests(query?: LogQuery): RequestLogEntry[];
  clearRequests(): void;
  counters(): SimulatorCounters;
  /** Graph write attempts (POST/PUT/PATCH/DELETE) since start; never drops. */
  writeAttempts(): number;
  /**
   * Clears every tenant's faults and the request log, and puts the
   * simulator's and tenants' settings back as they started (counters keep
   * counting; invalidated tokens stay invalid).
   */
  reset(): void;
  /** Simulator-wide settings: clock skew, default token lifetime, unknown-tenant path. */
  settings(): SimulatorSettings;
  /** Changes the settings given; throws SimulatorError `invalid_settings`. */
  updateSettings(patch: SimulatorSettingsPatch): SimulatorSettings;
  tenantSettings(idOrDomain: string): TenantSettings;
  /** Changes the tenant's settings given (e.g. its token lifetime); throws SimulatorError. */
  updateTenantSettings(idOrDomain: string, patch: TenantSettingsPatch): TenantSettings;
  /**
   * Every access token issued to the tenant so far stops working: Graph
   * answers it 401 InvalidAuthenticationToken as for an expired token.
   * Tokens issued afterwards work.
   */
  invalidateTokens(idOrDomain: string): void;
  /**
   * Uploads a certificate to a tenant's app (as "Certificates & secrets →
   * Upload certificate" does): client assertions signed with its private key
   * authenticate the app from now on. SimulatorError when the tenant or app
   * is unknown, the PEM is no certificate, or the app has it already.
   */
  addCertificate(
    tenant: string,
    appId: string,
    certificate: AppCertificateInput,
  ): RegisteredCertificateSummary;
  /** Removes one by key ID or thumbprint (SHA-1 or SHA-256 hex); false when the app has none such. */
  removeCertificate(tenant: string, appId: string, keyIdOrThumbprint: string): boolean;
  /** The certificates registered on a tenant's app. */
  certificates(tenant: string, appId: string): RegisteredCertificateSummary[];
  /**
   * Signs an access token for a tenant's app without the token endpoint, so
   * tests can present Graph with tokens Entra would have issued earlier
   * (for example, already expired ones).
   */
  mintAccessToken(options: MintTokenOptions): string;
  close(): Promise<void>;
}
