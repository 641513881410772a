import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, type Router } from 'express';
import { requestContext } from './request-context.js';

/** Where the api serves the admin console (`apps/console`). */
export const CONSOLE_BASE_PATH = '/console';

/**
 * The console's build (`apps/console/dist`), found beside this app in the
 * repository and in the image alike: `apps/api/{src,dist}/` → `apps/console/dist/`.
 */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../console/dist/', import.meta.url));

/**
 * The console speaks only to this origin and is never framed. Nothing is
 * inline: Vite emits the script and the stylesheet as files.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: RequestHandler = (req, res, next) => {
  requestContext(req).route = `${CONSOLE_BASE_PATH}/*`;
  res.setHeader('Content-Security-Policy', CONSOLE_CSP);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // The sign-in link's token sits in the fragment, which is never sent; say nothing more.
  res.setHeader('Referrer-Policy', 'no-referrer');
  next();
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Console not built</title></head>
<body>
<h1>The admin console has not been built</h1>
<p>This api serves the console from <code>apps/console/dist</code>, which does not exist yet.
Run <code>pnpm build</code> (or <code>pnpm --filter @pinnacle/console build</code>) and reload.</p>
<p>The API itself works: see <a href="/openapi.json">/openapi.json</a>.</p>
</body>
</html>
`;

const plainNotFound: RequestHandler = (_req, res) => {
  res.status(404).type('text/plain').setHeader('Cache-Control', 'no-store').send('Not found\n');
};

/**
 * `/console/`: the built single-page app. Hashed assets are cached for a
 * year (their names change with their content); `index.html` is revalidated
 * on every load, so a deploy is picked up at once. Any other path without
 * a file extension is a console route (`/console/orgs/{orgId}`, ...) and gets
 * `index.html`; the app routes in the browser. Without a build the api
 * still runs and says so here with a 503.
 */
export function consoleRouter(dir: string): Router {
  const router = express.Router({ strict: true });
  router.use(securityHeaders);
  router.use(
    '/assets',
    express.static(join(dir, 'assets'), {
      index: false,
      redirect: false,
      immutable: true,
      maxAge: '365d',
    }),
    plainNotFound,
  );
  router.use(
    express.static(dir, {
      index: false,
      redirect: false,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
  router.use(async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    // A missing file is a 404, not the app: a broken asset link must not load HTML as script.
    if (extname(req.path) !== '') {
      plainNotFound(req, res, next);
      return;
    }
    let html: string;
    try {
      html = await readFile(join(dir, 'index.html'), 'utf8');
    } catch {
      res
        .status(503)
        .type('html')
        .setHeader('Cache-Control', 'no-store')
        .setHeader('Retry-After', '30')
        .send(NOT_BUILT_PAGE);
      return;
    }
    res.status(200).type('html').setHeader('Cache-Control', 'no-cache').send(html);
  });
  return router;
}

/** Mounts the console at `/console/`; `/console` itself redirects there. */
export function mountConsole(app: express.Express, dir: string): void {
  app.use((req, res, next) => {
    // Non-strict routing would match `/console/` too: compare the path exactly.
    if (req.path !== CONSOLE_BASE_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return;
    }
    const query = req.originalUrl.slice(req.path.length);
    res.redirect(301, `${CONSOLE_BASE_PATH}/${query}`);
  });
  app.use(`${CONSOLE_BASE_PATH}/`, consoleRouter(dir));
}
