/**
 * The admin console in Debian's Chromium against the real stack: what an
 * org admin does when a sync fails, end to end, with accessibility and
 * layout checked on every page at 360 and 1440 px.
 */

import { waitFor } from '@pinnacle/testing';
import { launchBrowser, type TestBrowser } from '@pinnacle/testing/browser';
import { test } from '@pinnacle/testing/fixtures';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ARTIFACTS, checkPage, recordStages, settled, stagesSeen, toDocs } from './pages.js';
import { addTenant, type Stack, startStack } from './stack.js';

let stack: Stack;
let browser: TestBrowser;
const pages: Page[] = [];
const DAY = 86_400_000;
const OPS_PASSWORD = 'console-test-ops-password';
const dateIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ width: 1440, height: 900 });
  pages.push(page);
  return page;
}

/** Problems a page must never have: CSP refusals and uncaught errors (HTTP errors are expected). */
function seriousProblems(page: Page): string[] {
  return browser
    .problems(page)
    .filter((p) => !/Failed to load resource: the server responded with a status of/.test(p));
}

test.beforeAll(async ({ redis, simulator, smtp }) => {
  stack = await startStack({ redis, simulator, smtp });
  browser = await launchBrowser();
  const { tenant } = stack;
  // acme: its stored secret has expired, so every sync stops at preflight.
  const acme = await stack.call('PUT', '/orgs/acme/integration', {
    tenantId: tenant.tenantId,
    clientId: tenant.clientId,
    clientSecret: tenant.oldSecret,
    clientSecretExpiresAt: new Date(Date.now() - 3 * DAY).toISOString(),
    groupIds: [tenant.groups.all, tenant.groups.engineering],
    schedule: { enabled: true, every: '12h' },
    notifications: { email: { enabled: true, recipients: ['admin@acme.example'] } },
  });
  expect(acme.status).toBe(201);
  const failed = await stack.syncAndWait('acme');
  expect(failed.failure?.code).toBe('client_secret_expired');
  // The failure reaches the inbox (and the admin's mailbox) through the notifier.
  await waitFor(
    async () => {
      const { json } = await stack.call('GET', '/orgs/acme/notifications');
      return (json as { unreadCount: number }).unreadCount > 0;
    },
    { timeoutMs: 30_000, description: 'the failure notification' },
  );
}, 180_000);

afterEach(async () => {
  for (const page of pages.splice(0)) {
    expect(seriousProblems(page)).toEqual([]);
    await page.close();
  }
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('the admin console', () => {
  it('takes an admin from a failing sync to a recovered one', { timeout: 180_000 }, async () => {
    const page = await newPage();
    const token = await stack.token('acme');
    // The link from a failure email, with the portal's token in the fragment.
    await page.goto(`${stack.url}/console/orgs/acme/integrations/entra-id#token=${token}`);
    await page.getByRole('heading', { level: 1, name: 'Sync overview' }).waitFor();
    // The token left the address bar (and the history entry) for session storage.
    expect(page.url()).toBe(`${stack.url}/console/orgs/acme/integrations/entra-id`);
    expect(await page.evaluate(() => sessionStorage.getItem('pinnacle.console.token'))).toBe(token);

    // Failing, since when and why, and what to do.
    await page.getByText(/^Failing since/).waitFor();
    const whatWentWrong = page.getByRole('region', { name: 'What went wrong' });
    await whatWentWrong.getByRole('heading', { name: 'Client secret expired' }).waitFor();
    const { json } = await stack.call('GET', '/orgs/acme/sync-overview');
    const lastRun = (json as { lastRun: { failure: { remediation: string[] } } }).lastRun;
    const steps = whatWentWrong.locator('ol.failure__steps > li');
    expect(await steps.allTextContents()).toEqual(lastRun.failure.remediation);
    await expect.poll(() => page.getByText('Expired 3 days ago').count()).toBe(1);
    await expect.poll(() => page.getByTestId('unread-count').textContent()).toMatch(/^1\s*unread$/);
    await checkPage(page, 'overview-failing', { docs: [1440, 360] });

    // Rotate the secret: Settings → Rotate client secret.
    await page.getByRole('link', { name: 'Rotate the client secret' }).click();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await settled(page);
    await checkPage(page, 'settings', { docs: [1440] });
    const rotate = page.getByRole('region', { name: 'Rotate client secret' });
    // Graph slowed so each stage is seen live, and so the run the rotation starts
    // (the org is failing) is still going when Sync Now is pressed: Sync Now joins it.
    stack.sim.setFaults(stack.tenant.tenantId, { latencyMs: 1_200 });
    await rotate.getByLabel('New client secret').fill(stack.tenant.newSecret);
    await rotate.getByLabel('Expires').fill(dateIn(180));
    await rotate.getByRole('button', { name: 'Rotate secret' }).click();
    await rotate.getByText('The client secret was rotated').waitFor();
    // Nothing else changed: groups and schedule are as they were.
    const settings = (await stack.call('GET', '/orgs/acme/integration')).json as {
      groupIds: string[];
      schedule: { every: string };
      clientSecret: { hint: string };
    };
    expect(settings.groupIds).toHaveLength(2);
    expect(settings.schedule.every).toBe('12h');
    expect(settings.clientSecret.hint).toBe(stack.tenant.newSecret.slice(-3));

    // Sync Now from the rotation's confirmation.
    await recordStages(page);
    const syncNow = rotate.getByRole('region', { name: 'Sync now' });
    await syncNow.getByRole('button', { name: 'Sync now' }).click();
    await syncNow
      .locator('[data-stage="fetch"][data-state="current"]')
      .waitFor({ timeout: 30_000 });
    // A second press while it runs: the same run, said to be running already.
    await syncNow.getByRole('button', { name: 'Sync now' }).click();
    await syncNow.getByText('A sync is already running').waitFor();
    const running = `${ARTIFACTS}sync-running.png`;
    await syncNow.screenshot({ path: running });
    toDocs(running, 'sync-running');
    await syncNow.locator('[data-run-status="succeeded"]').waitFor({ timeout: 60_000 });
    stack.sim.clearFaults(stack.tenant.tenantId);
    const seen = await stagesSeen(page);
    expect(seen).toEqual(
      expect.arrayContaining(['fetch:current', 'commit:done', 'preflight:done']),
    );
    expect(seen).not.toContain('preflight:failed');
    await syncNow.getByText(/Sync succeeded: 1,470 users/).waitFor();

    // The recovery arrives in the inbox: the header count and the Notifications page.
    await page.getByRole('link', { name: /^Notifications/ }).click();
    await page.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
    const recovered = page.locator('[data-notification-type="sync_recovered"]');
    await waitFor(
      async () => {
        if ((await recovered.count()) > 0) return true;
        await page.getByRole('button', { name: 'Refresh' }).click();
        await settled(page);
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 500, description: 'the recovery notification in the inbox' },
    );
    await expect.poll(() => page.getByTestId('unread-count').textContent()).toMatch(/^2\s*unread$/);
    await recovered.locator('summary').click();
    await checkPage(page, 'notifications', { docs: [1440] });
    await recovered.getByRole('button', { name: 'Mark as read' }).click();
    await expect.poll(() => page.getByTestId('unread-count').textContent()).toMatch(/^1\s*unread$/);
    await page.getByRole('button', { name: 'Mark all as read' }).click();
    await page.getByText('Everything is read.').waitFor();
    await expect.poll(() => page.getByTestId('unread-count').count()).toBe(0);

    // The recovery email links back to the console, now healthy.
    const mails = await stack.smtp.waitForMessages(2, 30_000);
    const recoveryMail = mails.find((m) => /recover/i.test(m.parsed.subject ?? ''));
    expect(recoveryMail, mails.map((m) => m.parsed.subject).join(' | ')).toBeDefined();
    const link = `${stack.url}/console/orgs/acme/integrations/entra-id`;
    expect(recoveryMail?.parsed.text ?? '').toContain(link);
    await page.goto(link);
    await page.getByRole('heading', { level: 1, name: 'Sync overview' }).waitFor();
    await page.getByText('Healthy', { exact: true }).waitFor();
    // The selected groups by the names the preflight saw.
    const groups = page.getByRole('region', { name: 'Selected groups' });
    expect(await groups.locator('.group-list__name').allTextContents()).toEqual(
      expect.arrayContaining(['All staff', 'Engineering']),
    );
    await checkPage(page, 'overview-healthy', { docs: [1440] });

    // Run history: newest first, each run expandable to its stage, failure and stats.
    await page.getByRole('link', { name: 'Run history' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Run history' }).waitFor();
    await settled(page);
    const runs = page.locator('[data-run-id]');
    expect(await runs.count()).toBe(2);
    await runs.nth(0).locator('summary').click();
    await runs.nth(1).locator('summary').click();
    await runs.nth(1).getByRole('heading', { name: 'Client secret expired' }).waitFor();
    // Who the run changed: its first sync added everyone; the failed one changed nobody.
    const changes = runs.nth(0).locator('[data-changes-for]');
    await changes.getByText('Added (1,470)').waitFor();
    expect(await changes.locator('[data-change="added"]').count()).toBe(25);
    await changes.getByRole('button', { name: 'Show more users' }).click();
    await expect.poll(() => changes.locator('[data-change="added"]').count()).toBe(50);
    await runs
      .nth(1)
      .getByText('This run stopped before comparing users, so it changed nobody.')
      .waitFor();
    await checkPage(page, 'run-history', { docs: [1440] });
  });

  it('shows a refused save next to the field, losing nothing typed', {
    timeout: 120_000,
  }, async () => {
    const page = await newPage();
    await page.goto(`${stack.url}/console/orgs/initech`);
    // No token held: the overview asks to sign in; a pasted token signs in.
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await checkPage(page, 'sign-in');
    await page.getByLabel('Bearer token').fill(`Bearer ${await stack.token('initech')}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Microsoft Entra ID is not connected yet').waitFor();
    await checkPage(page, 'overview-not-configured');

    await page.getByRole('link', { name: 'Set up the integration' }).click();
    await page.getByRole('heading', { name: 'Connect Microsoft Entra ID' }).waitFor();
    const form = {
      tenantId: page.getByLabel('Tenant ID'),
      clientId: page.getByLabel('Client (application) ID'),
      groups: page.getByLabel('Group IDs'),
      every: page.getByLabel('Every'),
      recipients: page.getByLabel(/^Email recipients/),
    };
    await form.tenantId.fill(stack.tenant.tenantId);
    await form.clientId.fill('not-a-guid');
    await form.groups.fill(`${stack.tenant.groups.all}\nsales-team`);
    await form.every.fill('1m');
    await page.getByLabel('Email notifications').check();
    await form.recipients.fill('ops@initech.example\nnot an address');
    await page.getByRole('button', { name: 'Create integration' }).click();

    const summary = page.getByRole('alert').filter({ hasText: 'The settings were not saved' });
    await summary.waitFor();
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.id))
      .toBe('settings-errors');
    for (const [control, text] of [
      [form.clientId, /GUID|valid/i],
      [form.groups, /Entry 2/],
      [form.every, /./],
      [form.recipients, /Entry 2/],
    ] as const) {
      expect(await control.getAttribute('aria-invalid')).toBe('true');
      const describedBy = (await control.getAttribute('aria-describedby')) ?? '';
      const errorId = describedBy.split(' ').find((id) => id.endsWith('-error'));
      expect(errorId).toBeDefined();
      expect(await page.locator(`[id="${errorId}"]`).textContent()).toMatch(text);
    }
    expect(await form.tenantId.getAttribute('aria-invalid')).toBeNull();
    // Nothing typed was lost.
    expect(await form.clientId.inputValue()).toBe('not-a-guid');
    expect(await form.groups.inputValue()).toBe(`${stack.tenant.groups.all}\nsales-team`);
    expect(await form.recipients.inputValue()).toBe('ops@initech.example\nnot an address');
    expect((await stack.call('GET', '/orgs/initech/integration')).status).toBe(404);
    await checkPage(page, 'settings-errors', { docs: [1440] });

    // The summary's link takes focus to the field.
    await summary.getByRole('link', { name: 'Client (application) ID' }).click();
    await expect
      .poll(() => page.evaluate(() => document.activeElement?.id))
      .toBe('settings-clientId');

    await form.clientId.fill(stack.tenant.clientId);
    await form.groups.fill(stack.tenant.groups.all);
    await form.every.fill('6h');
    await form.recipients.fill('ops@initech.example');
    await page.getByRole('button', { name: 'Create integration' }).click();
    await page.getByText('The integration was created.').waitFor();
    await page.getByRole('button', { name: 'Save settings' }).waitFor();
    const saved = (await stack.call('GET', '/orgs/initech/integration')).json as {
      clientId: string;
      schedule: { every: string };
    };
    expect(saved).toMatchObject({ clientId: stack.tenant.clientId, schedule: { every: '6h' } });
  });

  it('returns an expired or refused token to sign-in with the reason', {
    timeout: 60_000,
  }, async () => {
    const page = await newPage();
    await page.goto(
      `${stack.url}/console/orgs/acme#token=${await stack.token('acme', { expiresIn: -60 })}`,
    );
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await page.getByText(/Your sign-in token expired at/).waitFor();
    expect(page.url()).not.toContain('token=');

    const foreign = await stack.token('acme', {
      secret: 'a-key-this-api-does-not-hold-0123456789',
    });
    await page.goto(`${stack.url}/console/orgs/acme#token=${foreign}`);
    await page.getByText(/The service refused your sign-in token/).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('pinnacle.console.token'))).toBeNull();

    await page.goto(`${stack.url}/console/orgs/acme#token=${await stack.token('globex')}`);
    await page.getByText('This sign-in is for another organisation').waitFor();
  });

  it('lets the admin allow a blocked mass removal with one confirmed press', {
    timeout: 120_000,
  }, async () => {
    const tenant = addTenant(stack.sim, { domain: 'globex' });
    const put = await stack.call('PUT', '/orgs/globex/integration', {
      tenantId: tenant.tenantId,
      clientId: tenant.clientId,
      clientSecret: tenant.newSecret,
      clientSecretExpiresAt: new Date(Date.now() + 180 * DAY).toISOString(),
      groupIds: [tenant.groups.all],
    });
    expect(put.status).toBe(201);
    expect((await stack.syncAndWait('globex')).status).toBe('succeeded');
    // A reorganisation empties most of All staff: the next sync would remove 1,176 of 1,470.
    stack.sim.removeTenant(tenant.tenantId);
    addTenant(stack.sim, { domain: 'globex', base: tenant, allStaffDirect: 0 });
    expect((await stack.syncAndWait('globex')).failure?.code).toBe('mass_removal_blocked');

    const page = await newPage();
    await page.goto(`${stack.url}/console/orgs/globex#token=${await stack.token('*')}`);
    const overviewPanel = page.getByRole('region', { name: 'Sync now' });
    await overviewPanel.getByText('The last sync was stopped by the mass-removal guard').waitFor();
    await overviewPanel.getByText(/would have removed 1,176 users/).waitFor();
    await checkPage(page, 'overview-mass-removal');

    // Who would be removed, in the run history, next to the one-click allow.
    await overviewPanel.getByRole('link', { name: 'See who would be removed' }).click();
    await page.getByRole('heading', { level: 1, name: 'Run history' }).waitFor();
    const blocked = page.locator('[data-run-id]').first();
    const wouldGo = blocked.locator('[data-changes-for]');
    await wouldGo.getByRole('heading', { name: 'Who would have been removed' }).waitFor();
    await wouldGo.getByText('Removed (1,176)').waitFor();
    await wouldGo.getByText(/Nothing was applied/).waitFor();
    const removedNames = await wouldGo
      .locator('[data-change="removed"] .changes__who')
      .allTextContents();
    expect(removedNames).toHaveLength(25);
    // All staff's own members went: Person 300 onwards (Engineering, nested, stays).
    expect(removedNames.every((n) => Number(n.replace('Person ', '')) >= 300)).toBe(true);
    expect(await wouldGo.getByText('Would be removed').count()).toBe(25);
    const syncNow = blocked.getByRole('region', { name: 'Sync now' });
    await syncNow.getByText('The last sync was stopped by the mass-removal guard').waitFor();
    await checkPage(page, 'run-history-mass-removal', { docs: [1440] });
    await syncNow.getByRole('button', { name: 'Allow the removal and sync now…' }).click();
    // Nothing happens before the confirmation; Cancel takes it back.
    await syncNow.getByRole('button', { name: 'Cancel' }).click();
    await syncNow.getByRole('button', { name: 'Allow the removal and sync now…' }).click();
    await syncNow.getByRole('button', { name: 'Yes, remove them and sync now' }).click();
    await syncNow.locator('[data-run-status="succeeded"]').waitFor({ timeout: 60_000 });
    await syncNow.getByText('Sync succeeded: 294 users in the snapshot.').waitFor();
    const runs = (await stack.call('GET', '/orgs/globex/syncs')).json as {
      items: { status: string; allowMassRemoval?: boolean; stats: { removed: number | null } }[];
    };
    expect(runs.items).toHaveLength(3);
    expect(runs.items[0]).toMatchObject({
      status: 'succeeded',
      allowMassRemoval: true,
      stats: { removed: 1_176 },
    });
  });

  it('picks groups by name and tests the connection before the setup is done', {
    timeout: 120_000,
  }, async () => {
    const { tenant } = stack;
    const page = await newPage();
    await page.goto(`${stack.url}/console/orgs/wayne/settings#token=${await stack.token('wayne')}`);
    await page.getByRole('heading', { name: 'Connect Microsoft Entra ID' }).waitFor();
    const search = page.getByLabel('Find a group by name');
    // Nothing is saved yet: no credentials to search with, and the search says why.
    await search.fill('eng');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const refused = page.getByRole('alert').filter({ hasText: 'The groups could not be searched' });
    await refused.getByRole('heading', { name: 'Integration settings incomplete' }).waitFor();

    await page.getByLabel('Tenant ID').fill(tenant.tenantId);
    await page.getByLabel('Client (application) ID').fill(tenant.clientId);
    await page.locator('#settings-clientSecret').fill(tenant.newSecret);
    await page.locator('#settings-clientSecretExpiresAt').fill(dateIn(180));
    await page.getByRole('button', { name: 'Create and test connection' }).click();
    await page.getByText('The integration was created.').waitFor();
    // Saved, then tested at once: signed in, but no group is selected yet.
    const result = page.getByTestId('connection-result');
    await expect.poll(() => result.getAttribute('data-ok')).toBe('false');
    await result.getByRole('heading', { name: 'No groups selected' }).waitFor();

    // Now the search works with the saved credentials: pick Engineering by name.
    await search.fill('eng');
    await search.press('Enter');
    const found = page.getByRole('list', { name: 'Groups found for eng' });
    await found.getByText('Engineering').waitFor();
    expect(await found.locator('[data-group-id]').count()).toBe(1);
    await checkPage(page, 'settings-group-search', { docs: [1440] });
    await found.getByRole('button', { name: 'Add Engineering' }).click();
    await found.getByText('Selected').waitFor();
    // A pasted object ID still works beside the picked one.
    const ids = page.getByLabel('Group IDs');
    expect(await ids.inputValue()).toBe(tenant.groups.engineering);
    await ids.fill(`${tenant.groups.engineering}\n${tenant.groups.all}`);
    const selected = page.getByRole('list', { name: 'Selected groups' });
    await selected.getByText('Engineering').waitFor();
    await selected.getByText('Name not known yet').waitFor();
    // Unsaved edits: the test would use what is saved, and says so.
    await page.getByText(/You have unsaved changes/).waitFor();

    await page.getByRole('button', { name: 'Save and test connection' }).click();
    await expect.poll(() => result.getAttribute('data-ok')).toBe('true');
    await result.getByText('The connection works').waitFor();
    expect(await result.locator('.group-list__name').allTextContents()).toEqual([
      'Engineering',
      'All staff',
    ]);
    // Names learnt from the test fill in the selection.
    await expect.poll(() => selected.getByText('Name not known yet').count()).toBe(0);
    await checkPage(page, 'settings-test-connection', { docs: [1440] });
    const saved = (await stack.call('GET', '/orgs/wayne/integration')).json as {
      groupIds: string[];
    };
    expect(saved.groupIds).toEqual([tenant.groups.engineering, tenant.groups.all]);
    // A test is no sync: no run, and the health is still unknown.
    const runs = (await stack.call('GET', '/orgs/wayne/syncs')).json as { items: unknown[] };
    expect(runs.items).toEqual([]);
    const overview = (await stack.call('GET', '/orgs/wayne/sync-overview')).json as {
      status: string;
    };
    expect(overview.status).toBe('unknown');
  });

  it('removes an integration only once its org ID is typed, naming what goes', {
    timeout: 120_000,
  }, async () => {
    const tenant = addTenant(stack.sim, { domain: 'hooli' });
    const put = await stack.call('PUT', '/orgs/hooli/integration', {
      tenantId: tenant.tenantId,
      clientId: tenant.clientId,
      clientSecret: tenant.newSecret,
      clientSecretExpiresAt: new Date(Date.now() + 180 * DAY).toISOString(),
      groupIds: [tenant.groups.engineering],
      schedule: { enabled: true, every: '12h' },
    });
    expect(put.status).toBe(201);
    expect((await stack.syncAndWait('hooli')).status).toBe('succeeded');

    const page = await newPage();
    await page.goto(`${stack.url}/console/orgs/hooli/settings#token=${await stack.token('hooli')}`);
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    const remove = page.getByRole('region', { name: 'Remove integration' });
    // What goes, said before anything is asked.
    for (const what of [
      /client secret/,
      /schedule/,
      /run history/,
      /synced user list/,
      /notifications/,
    ]) {
      await remove.getByText(what).first().waitFor();
    }
    await remove.getByRole('button', { name: 'Remove integration…' }).click();
    const confirm = remove.getByRole('button', {
      name: 'Remove the integration and delete its data',
    });
    expect(await confirm.isDisabled()).toBe(true);
    await remove.getByLabel('Type hooli to confirm').fill('hool');
    expect(await confirm.isDisabled()).toBe(true);
    await checkPage(page, 'settings-remove-integration');
    // Cancel takes it back; nothing was deleted.
    await remove.getByRole('button', { name: 'Cancel' }).click();
    expect((await stack.call('GET', '/orgs/hooli/integration')).status).toBe(200);

    await remove.getByRole('button', { name: 'Remove integration…' }).click();
    await remove.getByLabel('Type hooli to confirm').fill('hooli');
    await confirm.click();
    await page.getByText('The integration was removed').waitFor();
    expect((await stack.call('GET', '/orgs/hooli/integration')).status).toBe(404);
    const runs = (await stack.call('GET', '/orgs/hooli/syncs')).json as { items: unknown[] };
    expect(runs.items).toEqual([]);
    // The form starts afresh, to connect again.
    expect(await page.getByLabel('Tenant ID').inputValue()).toBe('');
    await checkPage(page, 'settings-removed');
  });

  it('lets the portal\'s org "*" token pick any org', { timeout: 60_000 }, async () => {
    const page = await newPage();
    await page.goto(`${stack.url}/console/#token=${await stack.token('*')}`);
    await page.getByRole('heading', { level: 1, name: 'Organisations' }).waitFor();
    await settled(page);
    const listed = await page.locator('.org-list a').allTextContents();
    expect(listed).toEqual(expect.arrayContaining(['acme', 'globex', 'initech']));
    await checkPage(page, 'org-picker');
    await page.getByRole('link', { name: 'acme' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sync overview' }).waitFor();
    await page.getByRole('link', { name: 'Switch' }).waitFor();
  });

  it('shows support staff the fleet: failing orgs by code, filtered', {
    timeout: 120_000,
  }, async () => {
    const { tenant } = stack;
    // Two more orgs failing for other reasons than acme once did.
    for (const [orgId, patch] of [
      [
        'umbrella',
        {
          clientSecret: tenant.oldSecret,
          clientSecretExpiresAt: new Date(Date.now() - DAY).toISOString(),
        },
      ],
      [
        'hooli',
        {
          clientId: '0badc0de-0000-4000-8000-000000000000',
          clientSecret: tenant.newSecret,
          clientSecretExpiresAt: new Date(Date.now() + 20.5 * DAY).toISOString(),
        },
      ],
    ] as const) {
      const put = await stack.call('PUT', `/orgs/${orgId}/integration`, {
        tenantId: tenant.tenantId,
        clientId: tenant.clientId,
        groupIds: [tenant.groups.all],
        ...patch,
      });
      expect(put.status).toBe(201);
      await stack.syncAndWait(orgId);
    }

    const page = await newPage();
    await page.goto(`${stack.url}/console/fleet`);
    await page.getByRole('heading', { level: 1, name: 'Fleet' }).waitFor();
    await checkPage(page, 'fleet-sign-in');
    await page.getByLabel('Ops user').fill('ops');
    await page.getByLabel('Ops password').fill('not-the-ops-password');
    await page.getByRole('button', { name: 'Show the fleet' }).click();
    await page.getByText('The ops user or password was not accepted.').waitFor();

    await page.getByLabel('Ops password').fill(OPS_PASSWORD);
    await page.getByRole('button', { name: 'Show the fleet' }).click();
    const table = page.getByRole('table', { name: 'Organisations' });
    await table.locator('[data-org-id="umbrella"]').waitFor();
    const row = (orgId: string) => table.locator(`[data-org-id="${orgId}"]`);
    await expect.poll(() => row('umbrella').getAttribute('data-status')).toBe('failing');
    await row('umbrella').getByText('client_secret_expired').waitFor();
    await row('umbrella').getByText('Expired 1 day ago').waitFor();
    await row('hooli').getByText('app_not_found').waitFor();
    await row('hooli').getByText('20 days left').waitFor();
    // Every org is listed as its own overview has it.
    for (const orgId of ['acme', 'umbrella']) {
      const { json } = await stack.call('GET', `/orgs/${orgId}/sync-overview`);
      expect(await row(orgId).getAttribute('data-status')).toBe(
        (json as { status: string }).status,
      );
    }
    await checkPage(page, 'fleet', { docs: [1440, 360] });

    // Counts by failure code, each a filter.
    const byCode = page.getByRole('list', { name: 'Failing organisations by reason code' });
    await byCode.locator('[data-failure-code="app_not_found"]').click();
    await expect.poll(() => table.locator('[data-org-id]').count()).toBe(1);
    expect(await table.locator('[data-org-id]').getAttribute('data-org-id')).toBe('hooli');
    await page.getByLabel('Failure code', { exact: true }).selectOption('client_secret_expired');
    await row('umbrella').waitFor();
    await expect.poll(() => row('hooli').count()).toBe(0);
    const codes = await table
      .locator('[data-org-id]')
      .evaluateAll((rows) => rows.map((r) => r.textContent ?? ''));
    expect(codes.every((text) => text.includes('client_secret_expired'))).toBe(true);
    await page.getByLabel('Failure code', { exact: true }).selectOption('');
    await page.getByLabel('Status', { exact: true }).selectOption('failing');
    // Until the filtered page has replaced the unfiltered one.
    await expect
      .poll(
        async () =>
          new Set(
            await table
              .locator('[data-org-id]')
              .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))),
          ),
      )
      .toEqual(new Set(['failing']));
    await row('hooli').waitFor();
    await row('umbrella').waitFor();
    await checkPage(page, 'fleet-filtered');
  });
});
