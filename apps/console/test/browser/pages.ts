import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { axeViolations, formatViolations, saveScreenshot } from '@pinnacle/testing/browser';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** Screenshots of every check, kept as test artifacts (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
/** The README's screenshots; refreshed when TEST_DOCS_SCREENSHOTS=1. */
const DOCS = fileURLToPath(new URL('../../../../docs/console/', import.meta.url));

export const WIDTHS = [1440, 360] as const;

/** Waits until no loading view is on screen. */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector('.state--loading') === null, null, {
    timeout: 15_000,
  });
}

/** Copies an artifact into docs/console/ when TEST_DOCS_SCREENSHOTS=1. */
export function toDocs(file: string, name: string): void {
  if (process.env.TEST_DOCS_SCREENSHOTS !== '1') return;
  mkdirSync(DOCS, { recursive: true });
  copyFileSync(file, join(DOCS, `${name}.png`));
}

/**
 * The page at each width: axe-core finds no WCAG A/AA violation, nothing
 * is wider than the viewport (no sideways scrolling), and a screenshot is
 * saved as `<name>-<width>.png`. `docs` names the widths whose screenshot
 * the README shows (copied into docs/console/ with TEST_DOCS_SCREENSHOTS=1).
 */
export async function checkPage(
  page: Page,
  name: string,
  options: { docs?: readonly (typeof WIDTHS)[number][] } = {},
) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width === 360 ? 800 : 900 });
    await settled(page);
    const violations = await axeViolations(page);
    expect(formatViolations(violations), `${name} at ${width}px`).toBe('');
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow, `${name} at ${width}px scrolls sideways`).toBeLessThanOrEqual(0);
    const file = await saveScreenshot(page, ARTIFACTS, `${name}-${width}`);
    if (options.docs?.includes(width)) toDocs(file, `${name}-${width}`);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
}

/** Records every state each sync stage is shown in, as the page changes. */
export async function recordStages(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen = new Set<string>();
    (globalThis as unknown as { __stages: Set<string> }).__stages = seen;
    const record = () => {
      for (const el of document.querySelectorAll('[data-stage]')) {
        seen.add(`${el.getAttribute('data-stage')}:${el.getAttribute('data-state')}`);
      }
    };
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
    record();
  });
}

export async function stagesSeen(page: Page): Promise<string[]> {
  return page.evaluate(() => [...(globalThis as unknown as { __stages: Set<string> }).__stages]);
}
