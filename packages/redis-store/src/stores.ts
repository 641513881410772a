import { AlertRepository } from './alert-repository.js';
import { CertificateRepository } from './certificate-repository.js';
import { CursorSigner } from './cursor-signer.js';
import { ExpiryWarningRepository } from './expiry-warning-repository.js';
import { FleetIndex } from './fleet-index.js';
import { HealthRepository } from './health-repository.js';
import { IntegrationRepository } from './integration-repository.js';
import { NotificationRepository } from './notification-repository.js';
import { OrgOffboarding } from './org-offboarding.js';
import type { RedisClient } from './redis-client.js';
import { RunChangesRepository } from './run-changes-repository.js';
import { RunRepository } from './run-repository.js';
import { SecretBox } from './secret-box.js';
import { SecretKeyring } from './secret-keyring.js';
import { SelectedGroupRepository } from './selected-group-repository.js';
import { SnapshotStore } from './snapshot-store.js';

/**
 * Data keys live beside the queues but outside BullMQ's prefix: a
 * `{hash-tag}` QUEUE_PREFIX pins the queues to one Cluster slot, while each
 * org's data carries its own tag and spreads across the cluster.
 */
export function dataPrefix(queuePrefix: string): string {
  return `${queuePrefix.replace(/[{}]/g, '')}:data`;
}

export interface Stores {
  integrations: IntegrationRepository;
  runs: RunRepository;
  /** The users each run added, removed and changed. */
  runChanges: RunChangesRepository;
  health: HealthRepository;
  snapshots: SnapshotStore;
  notifications: NotificationRepository;
  /** The notifier's episodes, alert notifications and email delivery state. */
  alerts: AlertRepository;
  expiryWarnings: ExpiryWarningRepository;
  /** Each org's selected groups as preflights last saw them (names for the overview). */
  selectedGroups: SelectedGroupRepository;
  /** Every org's status for the ops fleet view, updated as runs finish. */
  fleet: FleetIndex;
  /** Each org's certificates; their private keys sealed like the client secret. */
  certificates: CertificateRepository;
  /** Deletes an org's data (fence, then sweep): DELETE .../integration. */
  offboarding: OrgOffboarding;
}

export interface StoreOptions {
  /** SECRET_DECRYPTION_KEYS: previous encryption keys, still accepted for decryption. */
  previousSecretKeys?: readonly string[] | undefined;
}

/** Purpose label of the directory cursors' MAC key (derived from the encryption keys). */
export const DIRECTORY_CURSOR_PURPOSE = 'directory users';

export function createStores(
  redis: RedisClient,
  queuePrefix: string,
  secretEncryptionKey: string,
  options: StoreOptions = {},
): Stores {
  const prefix = dataPrefix(queuePrefix);
  const keyring = new SecretKeyring({
    current: secretEncryptionKey,
    previous: options.previousSecretKeys,
  });
  const fleet = new FleetIndex(redis, prefix);
  return {
    integrations: new IntegrationRepository(redis, prefix, new SecretBox(keyring), fleet),
    runs: new RunRepository(redis, prefix),
    runChanges: new RunChangesRepository(redis, prefix),
    health: new HealthRepository(redis, prefix),
    snapshots: new SnapshotStore(
      redis,
      prefix,
      new CursorSigner(keyring, DIRECTORY_CURSOR_PURPOSE),
    ),
    notifications: new NotificationRepository(redis, prefix),
    alerts: new AlertRepository(redis, prefix),
    expiryWarnings: new ExpiryWarningRepository(redis, prefix),
    selectedGroups: new SelectedGroupRepository(redis, prefix),
    fleet,
    certificates: new CertificateRepository(redis, prefix, new SecretBox(keyring)),
    offboarding: new OrgOffboarding(redis, prefix),
  };
}
