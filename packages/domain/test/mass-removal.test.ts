import { describe, expect, it } from 'vitest';
import {
  buildFailure,
  evaluateMassRemoval,
  type MassRemovalGuard,
  massRemovalOverriddenWarning,
} from '../src/index.js';

const guard: MassRemovalGuard = { maxRemovedPercent: 20, minRemovedUsers: 10 };

function blocked(currentUsers: number, removedUsers: number, g = guard, override = false) {
  return evaluateMassRemoval({ currentUsers, removedUsers, guard: g, override }).blocked;
}

describe('evaluateMassRemoval', () => {
  it('blocks only when removals exceed BOTH the share and the count', () => {
    expect(blocked(1000, 201)).toBe(true);
    expect(blocked(1000, 200)).toBe(false); // exactly 20%: not more than
    expect(blocked(50, 11)).toBe(true); // 22% and 11 > 10
    expect(blocked(50, 10)).toBe(false); // 20% exactly, and not more than 10
    expect(blocked(40, 10)).toBe(false); // 25% but only 10 users
    expect(blocked(40, 11)).toBe(true); // 27.5% and 11 users
    expect(blocked(10_000, 1_500)).toBe(false); // many users but only 15%
  });

  it('never blocks the first sync (no current users)', () => {
    expect(blocked(0, 0)).toBe(false);
    expect(
      evaluateMassRemoval({ currentUsers: 0, removedUsers: 5, guard, override: false }),
    ).toMatchObject({
      blocked: false,
      removedUsers: 0,
      removedPercent: 0,
    });
  });

  it('lets the one-run override through and says so', () => {
    const evaluation = evaluateMassRemoval({
      currentUsers: 100,
      removedUsers: 100,
      guard,
      override: true,
    });
    expect(evaluation).toMatchObject({ blocked: false, overridden: true, removedPercent: 100 });
    expect(massRemovalOverriddenWarning(evaluation)?.code).toBe('mass_removal_overridden');
    const untouched = evaluateMassRemoval({
      currentUsers: 100,
      removedUsers: 1,
      guard,
      override: true,
    });
    expect(untouched.overridden).toBe(false);
    expect(massRemovalOverriddenWarning(untouched)).toBeNull();
  });

  it('handles the extreme guard settings', () => {
    // 100%: removal can never exceed the share.
    expect(blocked(100, 100, { maxRemovedPercent: 100, minRemovedUsers: 0 })).toBe(false);
    // 0% and 0 users: any removal blocks.
    expect(blocked(100, 1, { maxRemovedPercent: 0, minRemovedUsers: 0 })).toBe(true);
    expect(blocked(100, 0, { maxRemovedPercent: 0, minRemovedUsers: 0 })).toBe(false);
  });

  it('compares exactly at fractional boundaries', () => {
    // 1 of 3 is 33.33...%: above 33.33, not above 33.34.
    const g = (maxRemovedPercent: number) => ({ maxRemovedPercent, minRemovedUsers: 0 });
    expect(blocked(3, 1, g(33.33))).toBe(true);
    expect(blocked(3, 1, g(33.34))).toBe(false);
  });

  it('reports rounded numbers that build the failure', () => {
    const evaluation = evaluateMassRemoval({
      currentUsers: 3,
      removedUsers: 2,
      guard: { maxRemovedPercent: 20, minRemovedUsers: 1 },
      override: false,
    });
    expect(evaluation).toEqual({
      blocked: true,
      overridden: false,
      currentUsers: 3,
      removedUsers: 2,
      removedPercent: 66.67,
      maxRemovedPercent: 20,
      minRemovedUsers: 1,
    });
    const failure = buildFailure('mass_removal_blocked', evaluation);
    expect(failure.message).toContain('2 of 3 synced users (66.67%)');
  });

  it('sanitises impossible inputs', () => {
    expect(
      evaluateMassRemoval({ currentUsers: 10, removedUsers: 50, guard, override: false })
        .removedUsers,
    ).toBe(10);
    expect(
      evaluateMassRemoval({ currentUsers: -5, removedUsers: -1, guard, override: false }),
    ).toMatchObject({ blocked: false, currentUsers: 0, removedUsers: 0 });
  });
});
