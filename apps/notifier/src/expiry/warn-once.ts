import type { NotificationJob } from '@pinnacle/queue-contracts';
import type { TypedQueue } from '@pinnacle/queue-runtime';
import { OrgOffboardedError } from '@pinnacle/redis-store';
import { EXPIRY_SCAN_HORIZON_DAYS } from './expiry-thresholds.js';

/*
 * What the secret-expiry and certificate-expiry scans share: how far ahead
 * they read their index, how many orgs they look at at once, and how a
 * warning is sent exactly once.
 */

const DAY_MS = 24 * 3600 * 1000;
/** Orgs looked at concurrently. */
const SCAN_CONCURRENCY = 32;

/** The latest expiry a scan at `now` looks at: the widest threshold ahead. */
export function expiryScanHorizon(now: Date): Date {
  return new Date(now.getTime() + EXPIRY_SCAN_HORIZON_DAYS * DAY_MS);
}

/** Visits every candidate, SCAN_CONCURRENCY at a time. */
export async function forEachCandidate<T>(
  candidates: readonly T[],
  visit: (candidate: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < candidates.length; i += SCAN_CONCURRENCY) {
    await Promise.all(candidates.slice(i, i + SCAN_CONCURRENCY).map(visit));
  }
}

/**
 * Queues a warning's notification, then marks the warning sent. Queued
 * first (its job ID is deterministic), so a crash in between queues the same
 * job again instead of losing it. False when the org was offboarded since
 * the index was read: its job finds that too and drops.
 */
export async function queueThenMarkSent(
  queue: TypedQueue<'notifications'>,
  job: NotificationJob,
  markSent: () => Promise<unknown>,
): Promise<boolean> {
  await queue.add(job);
  try {
    await markSent();
  } catch (error) {
    if (error instanceof OrgOffboardedError) return false;
    throw error;
  }
  return true;
}
