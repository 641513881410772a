import { describe, expect, it } from 'vitest';
import { fleetHealthPatch, scheduleIntervalMs } from '../src/fleet.js';
import { unknownHealth } from '../src/integration-health.js';

const HOUR = 3_600_000;

describe('scheduleIntervalMs', () => {
  it('is the interval of an "every" schedule, null when disabled or unreadable', () => {
    expect(scheduleIntervalMs({ enabled: true, every: '6h' })).toBe(6 * HOUR);
    expect(scheduleIntervalMs({ enabled: true, every: '30m' })).toBe(HOUR / 2);
    expect(scheduleIntervalMs({ enabled: false, every: '6h' })).toBeNull();
    expect(scheduleIntervalMs({ enabled: true, every: '1m' })).toBeNull();
  });

  it("is a cron schedule's longest gap between firings (a weekday schedule's weekend)", () => {
    const monday = new Date('2026-03-02T00:00:00Z');
    expect(scheduleIntervalMs({ enabled: true, every: '0 */6 * * *' }, monday)).toBe(6 * HOUR);
    expect(scheduleIntervalMs({ enabled: true, every: '0 3 * * 1-5' }, monday)).toBe(72 * HOUR);
  });
});

describe('fleetHealthPatch', () => {
  it('takes status, the open failure and the last run and success from a health record, in ms', () => {
    expect(fleetHealthPatch(unknownHealth)).toEqual({
      status: 'unknown',
      failureCode: null,
      failingSince: null,
      lastRunAt: null,
      lastSuccessAt: null,
    });
    expect(
      fleetHealthPatch({
        ...unknownHealth,
        status: 'failing',
        openFailure: {
          code: 'consent_missing',
          category: 'permissions',
          since: '2026-03-02T08:00:00.000Z',
          lastSeenAt: '2026-03-02T14:00:00.000Z',
          firstRunId: 'a',
          lastRunId: 'b',
          count: 2,
        },
        lastRunId: 'b',
        lastRunAt: '2026-03-02T14:00:00.000Z',
        lastSuccessAt: '2026-03-01T08:00:00.000Z',
      }),
    ).toEqual({
      status: 'failing',
      failureCode: 'consent_missing',
      failingSince: Date.parse('2026-03-02T08:00:00.000Z'),
      lastRunAt: Date.parse('2026-03-02T14:00:00.000Z'),
      lastSuccessAt: Date.parse('2026-03-01T08:00:00.000Z'),
    });
  });
});
