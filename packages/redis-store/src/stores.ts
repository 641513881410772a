import type { Redis } from 'ioredis';
import { AlertRepository } from './alert-repository.js';
import { ExpiryWarningRepository } from './expiry-warning-repository.js';
import { HealthRepository } from './health-repository.js';
import { IntegrationRepository } from './integration-repository.js';
import { NotificationRepository } from './notification-repository.js';
import { RunRepository } from './run-repository.js';
import { SecretBox } from './secret-box.js';
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
  health: HealthRepository;
  snapshots: SnapshotStore;
  notifications: NotificationRepository;
  /** The notifier's episodes, alert notifications and email delivery state. */
  alerts: AlertRepository;
  expiryWarnings: ExpiryWarningRepository;
  /** Each org's selected groups as preflights last saw them (names for the overview). */
  selectedGroups: SelectedGroupRepository;
}

export function createStores(
  redis: Redis,
  queuePrefix: string,
  secretEncryptionKey: string,
): Stores {
  const prefix = dataPrefix(queuePrefix);
  return {
    integrations: new IntegrationRepository(redis, prefix, new SecretBox(secretEncryptionKey)),
    runs: new RunRepository(redis, prefix),
    health: new HealthRepository(redis, prefix),
    snapshots: new SnapshotStore(redis, prefix),
    notifications: new NotificationRepository(redis, prefix),
    alerts: new AlertRepository(redis, prefix),
    expiryWarnings: new ExpiryWarningRepository(redis, prefix),
    selectedGroups: new SelectedGroupRepository(redis, prefix),
  };
}
