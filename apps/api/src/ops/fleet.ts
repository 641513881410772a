import { encodeCursor, type FleetOrg } from '@pinnacle/domain';
import type { FleetEntry, FleetIndex } from '@pinnacle/redis-store';
import type { Request, RequestHandler } from 'express';
import { validationFailed } from '../errors.js';
import { daysLeft } from '../overview.js';
import { type FleetList, fleetQuerySchema } from '../schemas.js';
import { orgIdAfterCursor, parseInput } from '../validation.js';

export const FLEET_PATH = '/ops/orgs';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One org as the fleet view shows it, at `now` (stale flag, days left). */
export function fleetOrg(entry: FleetEntry, now: Date): FleetOrg {
  const stale = entry.staleAt !== null && entry.staleAt <= now.getTime();
  const secretExpiresAt = iso(entry.secretExpiresAt);
  return {
    orgId: entry.orgId,
    status: entry.status,
    failureCode: entry.failureCode,
    failingSince: iso(entry.failingSince),
    lastRunAt: iso(entry.lastRunAt),
    lastSuccessAt: iso(entry.lastSuccessAt),
    stale,
    staleSince: stale ? iso(entry.staleAt) : null,
    scheduleIntervalMs: entry.scheduleIntervalMs,
    secretExpiresAt,
    secretDaysLeft: secretExpiresAt === null ? null : daysLeft(secretExpiresAt, now),
  };
}

function queryOf(req: Request): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const repeated: string[] = [];
  for (const [key, value] of Object.entries(req.query)) {
    if (Array.isArray(value)) repeated.push(key);
    else out[key] = value;
  }
  if (repeated.length > 0) {
    throw validationFailed(repeated.map((path) => ({ path, message: 'must be given once' })));
  }
  return out;
}

/**
 * `GET /ops/orgs` (behind the ops credentials): a page of the fleet index,
 * filtered by status or failure code, with counts over the whole fleet. It
 * reads the index (a page of entries, a few counters), never each org's
 * own records.
 */
export function fleetHandler(
  fleet: FleetIndex,
  clock: () => Date = () => new Date(),
): RequestHandler {
  return async (req, res) => {
    const query = parseInput(fleetQuerySchema, queryOf(req));
    const after = orgIdAfterCursor(query.cursor);
    const now = clock();
    const [page, counts] = await Promise.all([
      fleet.page({ status: query.status, code: query.code }, { limit: query.limit, after }),
      fleet.counts(now),
    ]);
    const last = page.entries[page.entries.length - 1];
    const body: FleetList = {
      items: page.entries.map((e) => fleetOrg(e, now)),
      nextCursor: page.more && last ? encodeCursor(last.orgId) : null,
      counts,
      generatedAt: now.toISOString(),
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  };
}
