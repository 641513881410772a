import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axeViolations,
  chromiumPath,
  formatViolations,
  launchBrowser,
  type TestBrowser,
} from '../src/browser.js';
import { TestingError } from '../src/errors.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; frame-ancestors 'none'";
const PAGES: Record<string, string> = {
  '/clean': `<!doctype html><html lang="en"><head><title>Clean</title></head><body><main><h1>Hello</h1><label for="n">Name</label><input id="n"></main></body></html>`,
  '/broken': `<!doctype html><html lang="en"><head><title>Broken</title></head><body><main><h1>Hi</h1><img src="/x.png"><input></main><script>console.log('inline ran')</script></body></html>`,
};

let server: Server;
let base: string;
let browser: TestBrowser;

beforeAll(async () => {
  server = createServer((req, res) => {
    const html = PAGES[req.url ?? ''];
    if (!html) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': CSP }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('launchBrowser', () => {
  it("drives Debian's Chromium headless in a fresh profile", async () => {
    const page = await browser.newPage({ width: 360, height: 640 });
    await page.goto(`${base}/clean`);
    expect(await page.textContent('h1')).toBe('Hello');
    expect(page.viewportSize()).toEqual({ width: 360, height: 640 });
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { sessionStorage: { length: number } }).sessionStorage.length,
      ),
    ).toBe(0);
    expect(browser.context.browser()?.version() ?? 'persistent').toBeTruthy();
    await page.close();
  });

  it('runs axe-core under a strict CSP: none on a clean page, each on a broken one', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/clean`);
    expect(formatViolations(await axeViolations(page))).toBe('');
    await page.goto(`${base}/broken`);
    const ids = (await axeViolations(page)).map((v) => v.id);
    expect(ids).toEqual(expect.arrayContaining(['image-alt', 'label']));
    await page.close();
  });

  it('collects what went wrong in the page, CSP refusals included', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/broken`);
    await page.evaluate(() => console.error('deliberate'));
    const problems = browser.problems(page);
    expect(problems.some((p) => p.includes('deliberate'))).toBe(true);
    expect(problems.some((p) => /Content Security Policy/i.test(p))).toBe(true);
    await page.close();
  });

  it('starts each browser in a profile of its own and removes it on close', async () => {
    const other = await launchBrowser();
    expect(other.profileDir).not.toBe(browser.profileDir);
    expect(existsSync(other.profileDir)).toBe(true);
    await other.close();
    expect(existsSync(other.profileDir)).toBe(false);
    // A second close is harmless.
    await other.close();
  });

  it('says how to install Chromium when there is none, and never downloads one', () => {
    try {
      chromiumPath('/nonexistent/chromium');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TestingError);
      expect((error as TestingError).code).toBe('browser_unavailable');
      expect((error as Error).message).toContain('apt-get install -y chromium');
    }
    expect(existsSync(chromiumPath())).toBe(true);
  });
});
