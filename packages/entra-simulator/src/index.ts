export type { AadstsError } from './aadsts-error.js';
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
  aadsts,
  classifyTenant,
  GRAPH_APP_ID,
  GRAPH_RESOURCE,
  servicePrincipalId,
} from './entra.js';
export { SimulatorError, type SimulatorErrorCode } from './errors.js';
export { deterministicGuid, deterministicSecretValue, isGuid } from './ids.js';
export type { LogQuery, RequestKind, RequestLogEntry, SimulatorCounters } from './request-log.js';
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
export { startSimulator } from './server.js';
export type {
  AppCertificateInput,
  FaultState,
  MintTokenOptions,
  Simulator,
  SimulatorOptions,
} from './simulator.js';
export type { TenantSummary } from './tenants.js';
export { trustSimulatorCa } from './trust.js';
