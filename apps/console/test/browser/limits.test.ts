/**
 * The API's limits as the console shows them, in Debian's Chromium against
 * the real stack: Sync Now past the org's budget of new runs says how long
 * to wait, and the request rate limit puts a banner on the page. Both
 * checked with axe and for layout at 360 and 1440 px.
 */

import { launchBrowser, type TestBrowser } from '@pinnacle/testing/browser';
import { test } from '@pinnacle/testing/fixtures';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkPage, settled } from './pages.js';
import { type Stack, startStack } from './stack.js';

const BUDGET = 2;
const PER_MINUTE = 40;
const ORG = 'limited';

let stack: Stack;
let browser: TestBrowser;
const pages: Page[] = [];

test.beforeAll(async ({ redis, simulator, smtp }) => {
  stack = await startStack(
    { redis, simulator, smtp },
    {
      SYNC_NOW_BUDGET: String(BUDGET),
      API_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
    },
  );
  browser = await launchBrowser();
  // Saved without a client ID: every run stops in preflight at once.
  const saved = await stack.call('PUT', `/orgs/${ORG}/integration`, {
    tenantId: stack.tenant.tenantId,
    groupIds: [stack.tenant.groups.all],
  });
  expect(saved.status).toBe(201);
  // The org's budget spent by earlier presses (the portal's, through the API).
  for (let i = 0; i < BUDGET; i++) {
    expect((await stack.syncAndWait(ORG)).failure?.code).toBe('settings_incomplete');
  }
}, 180_000);

afterEach(async () => {
  for (const page of pages.splice(0)) {
    const problems = browser
      .problems(page)
      .filter((p) => !/Failed to load resource: the server responded with a status of/.test(p));
    expect(problems).toEqual([]);
    await page.close();
  }
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function openOverview(): Promise<Page> {
  const page = await browser.newPage({ width: 1440, height: 900 });
  pages.push(page);
  await page.goto(`${stack.url}/console/orgs/${ORG}#token=${await stack.token(ORG)}`);
  await page.getByRole('heading', { level: 1, name: 'Sync overview' }).waitFor();
  await settled(page);
  return page;
}

describe('limits in the console', () => {
  it("Sync Now past the org's budget says how long to wait", async () => {
    const page = await openOverview();
    await page.getByRole('button', { name: 'Sync now' }).first().click();
    const alert = page.locator('.sync-now .alert');
    await alert.waitFor();
    expect(await alert.locator('.alert__title').textContent()).toBe(
      'Sync Now is resting for this organisation',
    );
    // The window is 10 minutes, counted from the first of the budget's runs.
    expect(await alert.locator('.alert__body').textContent()).toMatch(
      /^This organisation has started as many syncs as it may in a short time\. Try again in (9|10) minutes\.$/,
    );
    // Nothing started: no run is followed.
    expect(await page.locator('.sync-now__run').count()).toBe(0);
    // Not the request rate banner: that limit was not reached.
    expect(await page.getByTestId('rate-limit-banner').count()).toBe(0);
    await checkPage(page, 'sync-now-budget');
  });

  it('the request rate limit shows a banner saying when it passes', async () => {
    const page = await openOverview();
    // The same sign-in (sub and org) spends its allowance elsewhere, e.g. another tab.
    const token = await stack.token(ORG);
    for (let i = 0; i < PER_MINUTE + 1; i++) {
      const res = await fetch(`${stack.url}/api/v1/orgs/${ORG}/notifications`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.status === 429) break;
    }
    await page.getByRole('link', { name: 'Notifications' }).click();
    const banner = page.getByTestId('rate-limit-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(
      /Too many requests.*Pages and actions work again in about \d+ seconds?; nothing you entered is lost\./,
    );
    await checkPage(page, 'rate-limited');
  });
});
