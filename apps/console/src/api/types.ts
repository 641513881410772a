/**
 * Named shapes of the API, picked out of the generated OpenAPI types
 * (schema.gen.ts): the console holds no hand-written copy of a contract.
 */
import type { paths } from './schema.gen.js';

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Ok<
  P extends keyof paths,
  M extends 'get' | 'put' | 'post' | 'delete',
  S extends number,
> = paths[P][M] extends {
  responses: infer R;
}
  ? S extends keyof R
    ? Json<R[S]>
    : never
  : never;
type Body<P extends keyof paths, M extends 'put' | 'post'> = paths[P][M] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

export type SyncOverview = Ok<'/api/v1/orgs/{orgId}/sync-overview', 'get', 200>;
export type Run = Ok<'/api/v1/orgs/{orgId}/syncs/{runId}', 'get', 200>;
export type RunPage = Ok<'/api/v1/orgs/{orgId}/syncs', 'get', 200>;
export type RunFailure = NonNullable<Run['failure']>;
export type RunStage = Run['stage'];
export type SyncAccepted = Ok<'/api/v1/orgs/{orgId}/syncs', 'post', 202>;
export type Notification = Ok<'/api/v1/orgs/{orgId}/notifications', 'get', 200>['items'][number];
export type NotificationPage = Ok<'/api/v1/orgs/{orgId}/notifications', 'get', 200>;
export type IntegrationSettings = Ok<'/api/v1/orgs/{orgId}/integration', 'get', 200>;
export type IntegrationSettingsInput = Body<'/api/v1/orgs/{orgId}/integration', 'put'>;
export type ClientSecretRotation = Body<'/api/v1/orgs/{orgId}/integration/client-secret', 'put'>;
export type OrgListPage = Ok<'/api/v1/orgs', 'get', 200>;
export type Certificate = Ok<'/api/v1/orgs/{orgId}/integration/certificates', 'post', 201>;
export type CertificateList = Ok<'/api/v1/orgs/{orgId}/integration/certificates', 'get', 200>;
export type AuthMethod = IntegrationSettings['authMethod'];
/** The overview's current certificate (null when the org has none). */
export type OverviewCertificate = NonNullable<SyncOverview['certificate']>;
export type ValidationIssue = Json<
  paths['/api/v1/orgs/{orgId}/integration']['put']['responses'][400]
>['issues'][number];

/**
 * A selected group as the overview lists it. `missing` and `lastSeenAt` are
 * optional so the console works with an api that does not send them yet.
 */
export type OverviewGroup = SyncOverview['groups'][number] & {
  missing?: boolean;
  lastSeenAt?: string | null;
};

export type ConnectionTest = Ok<'/api/v1/orgs/{orgId}/integration/test', 'post', 200>;
export type EntraGroup = Ok<'/api/v1/orgs/{orgId}/entra/groups', 'get', 200>['items'][number];
export type RunChangesPage = Ok<'/api/v1/orgs/{orgId}/syncs/{runId}/changes', 'get', 200>;
export type RunChange = RunChangesPage['items'][number];
export type RunChangeKind = RunChange['change'];
export type FleetList = Ok<'/ops/orgs', 'get', 200>;
export type FleetOrg = FleetList['items'][number];
export type FleetQuery = NonNullable<paths['/ops/orgs']['get']['parameters']['query']>;
export type HealthStatus = FleetOrg['status'];
