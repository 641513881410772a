export type { RegisteredCertificateSummary } from './app-certificates.js';
export { createTlsMaterial, type TlsMaterial } from './certs.js';
export { ASSERTION_SKEW_SECONDS, assertionErrors, JWT_BEARER } from './client-assertion.js';
export { type DemoCredentials, type DemoState, type DemoTenant, demoTenants } from './demo.js';
export {
  type Directory,
  type DirectoryGroup,
  type DirectoryUser,
  seededGroupId,
  seededTenantId,
  seededUser,
} from './directory.js';
export {
  type AadstsError,
  aadsts,
  classifyTenant,
  GRAPH_APP_ID,
  GRAPH_RESOURCE,
  servicePrincipalId,
} from './entra.js';
export { SimulatorError, type SimulatorErrorCode } from './errors.js';
export { deterministicGuid, deterministicSecretValue, isGuid } from './ids.js';
export type { LogQuery, RequestKind, RequestLogEntry, SimulatorCounters } from './requestLog.js';
export {
  type Application,
  type ApplicationCertificate,
  type ApplicationCertificateInput,
  applicationCertificateSchema,
  applicationSchema,
  type ClientAssertionReplay,
  type ClientSecret,
  clientAssertionReplaySchema,
  type FaultSpec,
  type FaultSpecInput,
  faultSpecSchema,
  MAX_SEEDED_USERS,
  type SeededTenantSpec,
  type SimulatorSettings,
  type SimulatorSettingsPatch,
  seededTenantSchema,
  simulatorSettingsSchema,
  type TenantFixture,
  type TenantInput,
  type TenantSettings,
  type TenantSettingsPatch,
  tenantFixtureSchema,
  tenantInputSchema,
  tenantSettingsSchema,
  type UnknownTenantMode,
  unknownTenantModeSchema,
} from './schemas.js';
export {
  type AppCertificateInput,
  type FaultState,
  type MintTokenOptions,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from './server.js';
export type { TenantSummary } from './tenants.js';
export { trustSimulatorCa } from './trust.js';
