/**
 * `pnpm demo` itself, as a person runs it: started as a child process in a
 * process group of its own (pnpm does not pass signals on to its scripts),
 * its printed sign-in links opened in Debian's Chromium, every demo org
 * checked in the state it is meant to show, then SIGINT to the whole group:
 * no process and no Redis key of the demo may be left.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type RedisClient, scanKeys, unlinkKeys, waitFor } from '@pinnacle/testing';
import { launchBrowser, saveScreenshot, type TestBrowser } from '@pinnacle/testing/browser';
import { test } from '@pinnacle/testing/fixtures';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const prefix = `demo-test-${randomBytes(4).toString('hex')}`;

let demo: ChildProcess;
let group: number;
const lines: string[] = [];
let exited: Promise<void>;
let redis: RedisClient;
let browser: TestBrowser | undefined;

/** The pids of the processes in a process group (from /proc: no ps needed). */
function processesIn(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so read after its ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

async function demoKeys(): Promise<number> {
  return (await scanKeys(redis, `${prefix}:*`)).length;
}

const line = (pattern: RegExp, timeoutMs: number) =>
  waitFor(() => lines.find((l) => pattern.test(l)) ?? null, {
    timeoutMs,
    intervalMs: 100,
    description: `a demo line matching ${pattern}\n${lines.slice(-30).join('\n')}`,
  });

// The shared test Redis, but the demo's own prefix: what is checked is that the demo empties it.
test.beforeAll(async ({ redis: testRedis }) => {
  const redisUrl = testRedis.url;
  redis = testRedis.connect();
  demo = spawn('pnpm', ['demo'], {
    cwd: REPO,
    // Its own process group: SIGINT goes to pnpm, the script and the service alike.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DEMO_PREFIX: prefix,
      REDIS_URL: redisUrl,
      PORT: '0',
      LOG_LEVEL: 'error',
    },
  });
  group = demo.pid as number;
  for (const stream of [demo.stdout, demo.stderr]) {
    if (stream) createInterface({ input: stream }).on('line', (l) => lines.push(l));
  }
  exited = new Promise((resolve) => demo.once('exit', () => resolve()));
  await line(/^Every demo org is in its state\.$/, 240_000);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  // Only if a test failed before the SIGINT: nothing of the demo may outlive the run.
  if (processesIn(group).length > 0) {
    process.kill(-group, 'SIGKILL');
    await unlinkKeys(redis, await scanKeys(redis, `${prefix}:*`));
  }
});

/** `demo-x` → its printed sign-in link. */
function signInLinks(): Map<string, string> {
  const links = new Map<string, string>();
  for (const l of lines) {
    const match = /^\s+(http:\/\/\S+\/console\/orgs\/(demo-[a-z]+)#token=\S+)$/.exec(l);
    if (match?.[1] && match[2]) links.set(match[2], match[1]);
  }
  return links;
}

describe('pnpm demo', () => {
  it('prints the console links first, one ready sign-in link per demo org', () => {
    const output = lines.filter((l) => !l.startsWith('$ '));
    expect(output[0]).toBe('Pinnacle Series — Entra ID sync service demo');
    const firstLink = output.findIndex((l) => /\/console\/orgs\/demo-/.test(l));
    const api = output.findIndex((l) => l.trim().startsWith('API'));
    expect(firstLink).toBeGreaterThan(0);
    expect(firstLink).toBeLessThan(api);
    expect([...signInLinks().keys()].sort()).toEqual(
      ['adatum', 'contoso', 'fabrikam', 'litware', 'northwind', 'tailspin', 'woodgrove'].map(
        (k) => `demo-${k}`,
      ),
    );
    expect(output.some((l) => /\/console\/#token=/.test(l))).toBe(true);
    expect(output.some((l) => /\/console\/fleet/.test(l))).toBe(true);
    expect(output.join('\n')).toContain(`prefix ${prefix}`);
  });

  it('shows every demo org in its state in the console', { timeout: 180_000 }, async () => {
    browser = await launchBrowser();
    const links = signInLinks();
    const open = async (orgId: string) => {
      const page = await browser!.newPage({ width: 1440, height: 900 });
      await page.goto(links.get(orgId) as string);
      await page.getByRole('heading', { level: 1, name: 'Sync overview' }).waitFor();
      // Not waitForFunction with a string: the console's CSP forbids evaluating strings.
      await expect.poll(() => page.locator('.state--loading').count(), { timeout: 30_000 }).toBe(0);
      return page;
    };
    const expectations: [string, (page: Awaited<ReturnType<typeof open>>) => Promise<void>][] = [
      [
        'demo-tailspin',
        async (page) => {
          await page.getByText('Healthy', { exact: true }).waitFor();
          await page.getByText(/4,868/).first().waitFor();
        },
      ],
      ['demo-contoso', async (page) => page.getByText('Healthy', { exact: true }).waitFor()],
      [
        'demo-fabrikam',
        async (page) => {
          await page.getByText(/^Failing since/).waitFor();
          await page.getByRole('heading', { name: 'Client secret expired' }).first().waitFor();
        },
      ],
      [
        'demo-litware',
        async (page) => {
          await page.getByText('Healthy', { exact: true }).waitFor();
          await page.getByText('5 days left').waitFor();
        },
      ],
      [
        'demo-northwind',
        async (page) => {
          await page.getByRole('heading', { name: 'Admin consent missing' }).first().waitFor();
          await page
            .getByRole('link', { name: 'Grant admin consent in Entra ID' })
            .first()
            .waitFor();
        },
      ],
      [
        'demo-adatum',
        async (page) => {
          await page.getByRole('heading', { name: 'Selected group not found' }).first().waitFor();
          const groups = page.getByRole('region', { name: 'Selected groups' });
          await groups.getByText('Contractors').waitFor();
          await groups.locator('.group-list__missing').first().waitFor();
        },
      ],
      ['demo-woodgrove', async (page) => page.getByText('Never synced').first().waitFor()],
    ];
    for (const [orgId, check] of expectations) {
      const page = await open(orgId);
      await check(page);
      await saveScreenshot(page, ARTIFACTS, orgId);
      expect(browser.problems(page).filter((p) => !/Failed to load resource/.test(p))).toEqual([]);
      await page.close();
    }

    // The portal's "*" link lists every demo org.
    const star = lines
      .map((l) => /^\s+(http:\/\/\S+\/console\/#token=\S+)$/.exec(l)?.[1])
      .find(Boolean);
    const picker = await browser.newPage({ width: 1440, height: 900 });
    await picker.goto(star as string);
    await picker.getByRole('heading', { level: 1, name: 'Organisations' }).waitFor();
    await picker.locator('.org-list a').nth(6).waitFor();
    expect((await picker.locator('.org-list a').allTextContents()).sort()).toEqual(
      [...links.keys()].sort(),
    );
    await picker.close();
  });

  it('stops on SIGINT to its process group, leaving no process and no key behind', {
    timeout: 90_000,
  }, async () => {
    expect(await demoKeys()).toBeGreaterThan(0);
    process.kill(-group, 'SIGINT');
    await exited;
    await waitFor(() => processesIn(group).length === 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
      description: `the demo's processes to exit (${processesIn(group).join(', ')})`,
    });
    expect(await demoKeys()).toBe(0);
    expect(lines.some((l) => /^Removed the demo's \d+ Redis keys/.test(l))).toBe(true);
    expect(lines).toContain('Demo stopped.');
  });
});
