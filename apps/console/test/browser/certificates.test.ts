/**
 * Settings → Certificates in Debian's Chromium against the real stack: a
 * certificate made, downloaded (DER) and uploaded to the simulated app
 * registration, the org switched to certificates and synced; a rotation;
 * the last usable one protected; and an expiry notification's one-click new
 * certificate. Accessibility and layout checked at 360 and 1440 px.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TypedQueue } from '@pinnacle/queue-runtime';
import { waitFor } from '@pinnacle/testing';
import { launchBrowser, type TestBrowser } from '@pinnacle/testing/browser';
import { test } from '@pinnacle/testing/fixtures';
import type { Download, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkPage, settled } from './pages.js';
import { type Stack, startStack } from './stack.js';

let stack: Stack;
let browser: TestBrowser;
const pages: Page[] = [];
const DAY = 86_400_000;
const ORG = 'umbrella';

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ width: 1440, height: 900 });
  pages.push(page);
  return page;
}

function seriousProblems(page: Page): string[] {
  return browser
    .problems(page)
    .filter((p) => !/Failed to load resource: the server responded with a status of/.test(p));
}

/** Clicks `button` and returns the file the browser downloaded, as bytes. */
async function downloaded(page: Page, button: Locator): Promise<{ bytes: Buffer; name: string }> {
  const [download] = (await Promise.all([page.waitForEvent('download'), button.click()])) as [
    Download,
    unknown,
  ];
  const path = await download.path();
  return { bytes: readFileSync(path), name: download.suggestedFilename() };
}

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex').toUpperCase();

/** The admin's upload of a downloaded .cer to the app registration. */
function upload(bytes: Buffer) {
  stack.sim.addCertificate(stack.tenant.tenantId, stack.tenant.clientId, {
    certificatePem: bytes.toString('base64'),
  });
}

test.beforeAll(async ({ redis, simulator, smtp }) => {
  stack = await startStack({ redis, simulator, smtp });
  browser = await launchBrowser();
  const put = await stack.call('PUT', `/orgs/${ORG}/integration`, {
    tenantId: stack.tenant.tenantId,
    clientId: stack.tenant.clientId,
    clientSecret: stack.tenant.newSecret,
    clientSecretExpiresAt: new Date(Date.now() + 180 * DAY).toISOString(),
    groupIds: [stack.tenant.groups.all],
  });
  expect(put.status).toBe(201);
  expect((await stack.syncAndWait(ORG)).status).toBe('succeeded');
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

describe('certificates in the console', () => {
  it('creates, downloads and switches to a certificate; the overview shows it', {
    timeout: 180_000,
  }, async () => {
    const page = await newPage();
    await page.goto(`${stack.url}/console/orgs/${ORG}/settings#token=${await stack.token(ORG)}`);
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await settled(page);
    const section = page.getByRole('region', { name: 'Certificates' });
    await section.getByText('No certificate yet.').waitFor();
    expect(await section.getByRole('radio', { name: 'Client secret' }).isChecked()).toBe(true);
    await checkPage(page, 'settings-certificates-empty');

    await section.getByLabel('Validity of a new certificate').selectOption('365');
    await section.getByRole('button', { name: 'Create certificate' }).click();
    const created = section.getByRole('status').filter({ hasText: 'Certificate created' });
    await created.waitFor();
    const thumbprint = await created.locator('[data-thumbprint]').getAttribute('data-thumbprint');
    expect(thumbprint).toMatch(/^[0-9A-F]{40}$/);
    // The upload steps name the app to upload it to.
    await created.getByText(stack.tenant.clientId).waitFor();

    const file = await downloaded(page, created.getByRole('button', { name: 'Download .cer' }));
    expect(file.name).toBe(
      `pinnacle-entra-sync-${ORG}-${thumbprint!.slice(0, 8).toLowerCase()}.cer`,
    );
    expect(file.bytes[0]).toBe(0x30); // DER
    expect(sha1(file.bytes)).toBe(thumbprint);
    upload(file.bytes);

    // Listed, waiting for Entra ID; then the method switched to certificates.
    const item = section.locator(`[data-certificate-id]`).first();
    await item.getByText('Waiting for Entra ID').waitFor();
    await section.getByRole('radio', { name: 'Certificate' }).check();
    await section.getByRole('button', { name: 'Use certificate' }).click();
    await section.getByText('Syncs now authenticate with the certificate.').waitFor();
    const saved = (await stack.call('GET', `/orgs/${ORG}/integration`)).json as {
      authMethod: string;
      groupIds: string[];
    };
    expect(saved).toMatchObject({ authMethod: 'certificate', groupIds: [stack.tenant.groups.all] });
    await checkPage(page, 'settings-certificates', { docs: [1440, 360] });

    // A sync on the certificate, from the overview.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sync overview' }).waitFor();
    const syncNow = page.getByRole('region', { name: 'Sync now' });
    await syncNow.getByRole('button', { name: 'Sync now' }).click();
    await syncNow.locator('[data-run-status="succeeded"]').waitFor({ timeout: 60_000 });
    await page.reload();
    await settled(page);
    const card = page.getByRole('region', { name: 'Certificate', exact: true });
    await card.getByText('In use').waitFor();
    expect(await card.locator('[data-thumbprint]').getAttribute('data-thumbprint')).toBe(
      thumbprint,
    );
    await card.getByText('364 days left').waitFor();
    // No "Rotate the secret" card for an org on certificates.
    expect(await page.getByRole('region', { name: 'Client secret' }).count()).toBe(0);
    await checkPage(page, 'overview-certificate', { docs: [1440] });
  });

  it('rotates: the new certificate waits, then takes over; the last usable one is kept', {
    timeout: 180_000,
  }, async () => {
    const page = await newPage();
    await page.goto(`${stack.url}/console/orgs/${ORG}/settings#token=${await stack.token('*')}`);
    await settled(page);
    const section = page.getByRole('region', { name: 'Certificates' });
    await section.locator('[data-status="active"]').waitFor();
    await section.getByRole('button', { name: 'Create certificate' }).click();
    const created = section.getByRole('status').filter({ hasText: 'Certificate created' });
    await created.waitFor();
    const fresh = await created.locator('[data-thumbprint]').getAttribute('data-thumbprint');

    // Not uploaded yet: the sync carries on with the old one.
    expect((await stack.syncAndWait(ORG)).status).toBe('succeeded');
    const file = await downloaded(page, created.getByRole('button', { name: 'Download .cer' }));
    expect(sha1(file.bytes)).toBe(fresh);
    upload(file.bytes);
    expect((await stack.syncAndWait(ORG)).status).toBe('succeeded');

    await page.reload();
    await settled(page);
    const active = section.locator('[data-status="active"]');
    await expect.poll(() => active.count()).toBe(1);
    expect(await active.locator('[data-thumbprint]').getAttribute('data-thumbprint')).toBe(fresh);
    await section.getByText('Retired (1)').click();
    await section.locator('[data-status="retired"] .badge', { hasText: 'Retired' }).waitFor();

    // The one in use is the last usable: retiring it is explained and refused.
    await active.getByRole('button', { name: 'Retire' }).click();
    await active.getByText('It is the last usable certificate').waitFor();
    await active.getByRole('button', { name: 'Retire certificate' }).click();
    await active
      .getByRole('alert')
      .getByText(/create and upload a new one first/)
      .waitFor();
    await checkPage(page, 'settings-certificates-rotated');
    const list = (await stack.call('GET', `/orgs/${ORG}/integration/certificates`)).json as {
      items: { status: string }[];
    };
    expect(list.items.map((c) => c.status)).toEqual(['active', 'retired']);
  });

  it('offers a new certificate in one click from an expiry notification', {
    timeout: 120_000,
  }, async () => {
    const list = (await stack.call('GET', `/orgs/${ORG}/integration/certificates`)).json as {
      items: { id: string; thumbprint: string; status: string; notAfter: string }[];
    };
    const current = list.items.find((c) => c.status === 'active')!;
    // The notifier's daily scan would hand this off 30 days before notAfter.
    const notifications = new TypedQueue('notifications', {
      connection: stack.redis.connect({ maxRetriesPerRequest: null }),
      prefix: stack.redis.prefix,
      env: {},
    });
    try {
      await notifications.add({
        type: 'certificate_expiring',
        orgId: ORG,
        occurredAt: new Date().toISOString(),
        certificate: { id: current.id, thumbprint: current.thumbprint },
        expiresAt: current.notAfter,
        thresholdDays: 30,
        daysLeft: 29,
      });
    } finally {
      await notifications.close();
    }
    await waitFor(
      async () => {
        const { json } = await stack.call('GET', `/orgs/${ORG}/notifications`);
        return (json as { items: { type: string }[] }).items.some(
          (n) => n.type === 'certificate_expiring',
        );
      },
      { timeoutMs: 30_000, description: 'the certificate_expiring notification' },
    );

    const page = await newPage();
    await page.goto(
      `${stack.url}/console/orgs/${ORG}/notifications#token=${await stack.token(ORG)}`,
    );
    await page.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
    await settled(page);
    const item = page.locator('[data-notification-type="certificate_expiring"]');
    await item.locator('summary').click();
    await item.getByText(current.thumbprint).waitFor();
    await item.getByRole('button', { name: 'Create a new certificate' }).click();
    const created = item.getByRole('status').filter({ hasText: 'New certificate created' });
    await created.waitFor();
    const thumbprint = await created.locator('[data-thumbprint]').getAttribute('data-thumbprint');
    const file = await downloaded(page, created.getByRole('button', { name: 'Download .cer' }));
    expect(sha1(file.bytes)).toBe(thumbprint);
    await checkPage(page, 'notifications-certificate', { docs: [1440] });

    const after = (await stack.call('GET', `/orgs/${ORG}/integration/certificates`)).json as {
      items: { thumbprint: string; status: string }[];
    };
    expect(after.items[0]).toMatchObject({ thumbprint, status: 'pending' });
    // The way on: the certificates in Settings.
    await created.getByRole('link', { name: 'Open the certificates in Settings' }).click();
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await settled(page);
    await page
      .getByRole('region', { name: 'Certificates' })
      .locator(`[data-thumbprint="${thumbprint}"]`)
      .waitFor();
  });
});
