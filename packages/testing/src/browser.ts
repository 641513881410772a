import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { TestingError } from './errors.js';
import { onProcessExit } from './process-exit.js';

/** Debian's chromium (`apt-get install chromium`); never a downloaded browser. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Headless, no sandbox (tests run as root in CI), and nothing that phones
 * home: no QUIC, first-run, background networking, component updates or sync.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export interface BrowserOptions {
  /** Default: `TEST_CHROMIUM_PATH`, else /usr/bin/chromium. */
  executablePath?: string;
  /** Default 1440 x 900. */
  viewport?: { width: number; height: number };
}

export interface TestBrowser {
  context: BrowserContext;
  /** The fresh user-data-dir of this browser; removed on close. */
  profileDir: string;
  /**
   * A new tab. Its console errors, uncaught errors and refused requests
   * (CSP included) are collected in `problems(page)`.
   */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  /** What went wrong in the page so far: console errors and uncaught exceptions. */
  problems(page: Page): string[];
  close(): Promise<void>;
}

export function chromiumPath(explicit?: string): string {
  const path = explicit ?? process.env.TEST_CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH;
  if (!existsSync(path)) {
    throw new TestingError(
      'browser_unavailable',
      `No Chromium at ${path}: install Debian's (apt-get install -y chromium) or set TEST_CHROMIUM_PATH. Browsers are never downloaded.`,
    );
  }
  return path;
}

/**
 * Debian's Chromium driven by Playwright, headless, in a fresh profile
 * (its own user-data-dir, removed on close), so no test sees another's
 * storage, cookies or cache.
 */
export async function launchBrowser(options: BrowserOptions = {}): Promise<TestBrowser> {
  const executablePath = chromiumPath(options.executablePath);
  const userDataDir = mkdtempSync(join(tmpdir(), 'pinnacle-chromium-'));
  const removeProfile = () => rmSync(userDataDir, { recursive: true, force: true });
  const unregister = onProcessExit(removeProfile);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      viewport: options.viewport ?? { width: 1440, height: 900 },
      timeout: 60_000,
    });
  } catch (error) {
    unregister();
    removeProfile();
    throw new TestingError('browser_unavailable', `Chromium at ${executablePath} did not start`, {
      cause: error,
    });
  }
  const issues = new WeakMap<Page, string[]>();
  return {
    context,
    profileDir: userDataDir,
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport) await page.setViewportSize(viewport);
      const list: string[] = [];
      issues.set(page, list);
      page.on('console', (message) => {
        if (message.type() === 'error') list.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => list.push(`uncaught: ${error.message}`));
      return page;
    },
    problems(page) {
      return [...(issues.get(page) ?? [])];
    },
    async close() {
      await context.close().catch(() => {});
      unregister();
      removeProfile();
    },
  };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  /** CSS selectors of the offending elements. */
  targets: string[];
}

const require = createRequire(import.meta.url);
let axeSource: string | undefined;

/**
 * Runs axe-core in the page against WCAG 2.x A and AA and answers the
 * violations. The source is evaluated, not added as a script tag, so it
 * runs under a strict Content-Security-Policy without weakening it.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= (require('axe-core') as { source: string }).source;
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(
            context: unknown,
            options: unknown,
          ): Promise<{
            violations: {
              id: string;
              impact: string | null;
              help: string;
              nodes: { target: unknown[] }[];
            }[];
          }>;
        };
      }
    ).axe;
    // This callback runs in the page, where `document` exists; the package is typed for Node.
    const { document } = globalThis as unknown as { document: unknown };
    const result = await axe.run(document, {
      runOnly: {
        type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'],
      },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.map(String).join(' ')),
    }));
  });
}

/** One line per violation, for an assertion message. */
export function formatViolations(violations: readonly AxeViolation[]): string {
  return violations
    .map((v) => `${v.id} (${v.impact ?? 'n/a'}): ${v.help} — ${v.targets.join(', ')}`)
    .join('\n');
}

/** Saves a full-page screenshot as `<dir>/<name>.png` (the folder is made if needed). */
export async function saveScreenshot(page: Page, dir: string, name: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
