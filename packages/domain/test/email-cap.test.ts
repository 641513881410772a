import { describe, expect, it } from 'vitest';
import { DEFAULT_EMAIL_CAP, decideEmailCap, type EmailCapLimits } from '../src/index.js';

const T0 = Date.UTC(2026, 2, 1, 6, 0, 0);
const MIN = 60 * 1000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0 + ms).toISOString();

/** Asks for one email at each offset in turn, as the notifier would, keeping the log. */
function run(offsets: number[], limits: EmailCapLimits = DEFAULT_EMAIL_CAP) {
  let log: number[] = [];
  return offsets.map((offset) => {
    const decision = decideEmailCap(log, at(offset), limits);
    log = decision.sentAt;
    return decision;
  });
}

describe('decideEmailCap', () => {
  it('defaults to 5 an hour and 20 a day', () => {
    expect(DEFAULT_EMAIL_CAP).toEqual({ perHour: 5, perDay: 20 });
  });

  it('sends 5 within an hour, then holds back until the oldest of them is an hour old', () => {
    const decisions = run([0, 1, 2, 3, 4, 5, 6].map((m) => m * MIN));
    expect(decisions.map((d) => d.send)).toEqual([true, true, true, true, true, false, false]);
    expect(decisions[5]).toMatchObject({ send: false, until: at(HOUR) });
    // Held-back emails are not logged: they never count.
    expect(decisions[6]?.sentAt).toHaveLength(5);
  });

  it('lets the next one out exactly when the window allows it', () => {
    const [, , , , , atWindow] = run([0, 10, 20, 30, 40].map((m) => m * MIN).concat([HOUR]));
    expect(atWindow?.send).toBe(true);
    const justBefore = run([0, 10, 20, 30, 40].map((m) => m * MIN).concat([HOUR - 1]));
    expect(justBefore[5]?.send).toBe(false);
  });

  it('holds back past 20 a day even when each hour stays under 5', () => {
    // Four an hour, every hour: the 21st of the day is held back until the first is a day old.
    const offsets = Array.from({ length: 24 }, (_, i) => Math.floor(i / 4) * HOUR + (i % 4) * MIN);
    const decisions = run(offsets);
    expect(decisions.filter((d) => d.send)).toHaveLength(20);
    expect(decisions[20]).toMatchObject({ send: false, until: at(DAY) });
  });

  it('names the later of the two windows when both are full', () => {
    const log = [
      ...Array.from({ length: 15 }, (_, i) => T0 + i * MIN),
      ...Array.from({ length: 5 }, (_, i) => T0 + 20 * HOUR + i * MIN),
    ];
    const decision = decideEmailCap(log, at(20 * HOUR + 10 * MIN), DEFAULT_EMAIL_CAP);
    // The hour frees at 21:00 after T0, the day only at T0 + 1 day.
    expect(decision).toMatchObject({ send: false, until: at(DAY) });
  });

  it('judges a late alert against everything sent since its window began, later emails included', () => {
    const log = [10, 20, 30, 40, 50].map((m) => T0 + m * MIN);
    // Its own timestamp is older than all of them: still the sixth within the hour.
    expect(decideEmailCap(log, at(5 * MIN), DEFAULT_EMAIL_CAP).send).toBe(false);
  });

  it('keeps the log to the last day and to what the daily cap needs', () => {
    const old = [T0 - 2 * DAY, T0 - DAY];
    const decision = decideEmailCap(old, at(0), DEFAULT_EMAIL_CAP);
    expect(decision).toEqual({ send: true, sentAt: [T0] });
    const many = Array.from({ length: 50 }, (_, i) => T0 - 10 * HOUR + i);
    const capped = decideEmailCap(many, at(0), { perHour: 100, perDay: 30 });
    expect(capped.sentAt).toHaveLength(30);
  });

  it('a large budget keeps it out of the way', () => {
    const decisions = run(
      Array.from({ length: 200 }, (_, i) => i * 1000),
      { perHour: 10_000, perDay: 10_000 },
    );
    expect(decisions.every((d) => d.send)).toBe(true);
  });
});
