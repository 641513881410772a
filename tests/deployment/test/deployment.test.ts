import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { envVariableNames, requiredByRole } from '@pinnacle/config';
import { type QueueKey, queues } from '@pinnacle/queue-contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/*
 * No container engine runs here, so the deployment files are checked
 * statically against the code they deploy: the compose services, the env
 * they set, the commands they run, and the Dockerfile's stages and paths.
 */

const root = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | Record<string, Json>)[];
  volumes?: (string | Record<string, Json>)[];
  healthcheck?: { test?: string | string[] };
  deploy?: { replicas?: number };
  container_name?: string;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, Json>;
}

const APP_SERVICES = ['api', 'worker', 'notifier'] as const;
/**
 * Variables compose itself reads that no service does: Redis's password,
 * which reaches the services only inside their REDIS_URL.
 */
const COMPOSE_ONLY_VARIABLES = new Set(['REDIS_PASSWORD']);
/** `${REDIS_PASSWORD:?message}`: required, compose refuses to start without it. */
const REQUIRED_REDIS_PASSWORD = /^\$\{REDIS_PASSWORD:\?[^}]*\}$/;
/** The root scripts that start each role (DESIGN.md's process commands). */
const ROLE_SCRIPTS = ['start', 'start:api', 'start:worker', 'start:notifier'] as const;

let composeText: string;
let compose: Compose;
let rootScripts: Record<string, string>;
let rootPackage: { packageManager?: string; scripts?: Record<string, string> };

beforeAll(() => {
  composeText = read('docker-compose.yml');
  compose = parse(composeText, { merge: true }) as Compose;
  rootPackage = JSON.parse(read('package.json')) as typeof rootPackage;
  rootScripts = rootPackage.scripts ?? {};
});

function service(name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

function environmentOf(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v ?? '')]));
}

/** Every .ts file under a folder of the repo, recursively (paths relative to the root). */
function sourcesOf(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

function argv(command: string | string[] | undefined): string[] {
  if (command === undefined) return [];
  return Array.isArray(command) ? command : command.trim().split(/\s+/);
}

/** `node apps/x/dist/main.js` ↔ `apps/x/src/main.ts`, built by the package's `build` script. */
function checkBuiltEntry(entry: string): void {
  const match = /^(apps|packages)\/([a-z0-9-]+)\/dist\/(.+)\.js$/.exec(entry);
  expect(match, `${entry} is a built entry (apps/<pkg>/dist/<file>.js)`).not.toBeNull();
  if (!match) return;
  const [, dir, pkg, file] = match;
  const pkgDir = `${dir}/${pkg}`;
  expect(existsSync(join(root, pkgDir, 'src', `${file}.ts`)), `${pkgDir}/src/${file}.ts`).toBe(
    true,
  );
  const manifest = JSON.parse(read(`${pkgDir}/package.json`)) as {
    scripts?: Record<string, string>;
  };
  expect(manifest.scripts?.build, `${pkgDir} has a build script`).toMatch(/tsc -p tsconfig\.build/);
  const build = JSON.parse(read(`${pkgDir}/tsconfig.build.json`)) as {
    compilerOptions?: { rootDir?: string; outDir?: string };
  };
  expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
}

/**
 * A command a container runs: a root `pnpm` script that exists, or `node`
 * on a built entry that a root script runs too (so `pnpm start:*` and the
 * containers start the same thing).
 */
function checkCommand(where: string, command: string[]): void {
  expect(command.length, `${where} runs a command`).toBeGreaterThan(0);
  if (command[0] === 'pnpm') {
    const script = command[1] === 'run' ? command[2] : command[1];
    expect(Object.keys(rootScripts), `${where}: pnpm ${script}`).toContain(script);
    return;
  }
  expect(command[0], `${where} runs pnpm or node`).toBe('node');
  const entry = command.at(-1) ?? '';
  checkBuiltEntry(entry);
  const sameAsScript = Object.entries(rootScripts).filter(
    ([, value]) => value.trim() === command.join(' '),
  );
  expect(
    sameAsScript.map(([name]) => name),
    `${where}: a root script runs \`${command.join(' ')}\` too`,
  ).not.toHaveLength(0);
}

describe('root scripts', () => {
  it.each(ROLE_SCRIPTS)('has `pnpm %s`', (name) => {
    expect(rootScripts[name], `root package.json scripts.${name}`).toBeDefined();
  });
});

describe('docker-compose.yml', () => {
  it('has redis, mailpit and the three roles', () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['redis', 'mailpit', ...APP_SERVICES]),
    );
    expect(service('mailpit').image).toMatch(/^axllent\/mailpit(:|$)/);
  });

  it('runs Redis 7 with AOF, noeviction and a named volume', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\b|$)/);
    const args = argv(redis.command);
    expect(args[0]).toBe('redis-server');
    const option = (name: string) => args[args.indexOf(name) + 1];
    expect(args).toContain('--appendonly');
    expect(option('--appendonly')).toBe('yes');
    expect(args).toContain('--maxmemory-policy');
    expect(option('--maxmemory-policy')).toBe('noeviction');
    const mounts = (redis.volumes ?? []).map(String);
    const data = mounts.find((m) => m.endsWith(':/data'));
    expect(data, 'a volume on /data').toBeDefined();
    const volumeName = data?.split(':')[0] ?? '';
    expect(Object.keys(compose.volumes ?? {})).toContain(volumeName);
  });

  it.each(APP_SERVICES)('%s sets only variables of @pinnacle/config', (name) => {
    const keys = Object.keys(environmentOf(service(name)));
    expect(keys.length).toBeGreaterThan(0);
    const known = new Set<string>(envVariableNames);
    expect(keys.filter((k) => !known.has(k))).toEqual([]);
  });

  it("interpolates only variables of @pinnacle/config (and Redis's password)", () => {
    const known = new Set<string>([...envVariableNames, ...COMPOSE_ONLY_VARIABLES]);
    const used = [...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1] ?? '');
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((v) => !known.has(v))).toEqual([]);
  });

  it('gives each role what it cannot run without', () => {
    const api = environmentOf(service('api'));
    for (const required of [
      'API_AUTH_SECRET',
      'OPS_USER',
      'OPS_PASSWORD',
      'SECRET_ENCRYPTION_KEY',
    ]) {
      expect(api[required], `api ${required}`).toMatch(/^\$\{[A-Z_]+:\?/);
    }
    expect(environmentOf(service('worker')).SECRET_ENCRYPTION_KEY).toMatch(/^\$\{[A-Z_]+:\?/);
    for (const name of APP_SERVICES) {
      // Redis's password, from the same variable as the server's --requirepass.
      const url = environmentOf(service(name)).REDIS_URL ?? '';
      const match = /^redis:\/\/:(.+)@redis:6379$/.exec(url);
      expect(match, `${name} REDIS_URL carries the password`).not.toBeNull();
      expect(match?.[1]).toMatch(REQUIRED_REDIS_PASSWORD);
    }
    const notifier = environmentOf(service('notifier'));
    expect(notifier.SMTP_URL).toContain('smtp://mailpit:1025');
    expect(notifier.MAIL_FROM).toBeTruthy();
  });

  it("sets the variables a queue's job options come from alike on every role adding its jobs", () => {
    // Sync Now and job schedulers (api), schedules backed off (worker); the
    // worker's hand-off and the notifier's scans; the notifier's emails.
    const producers: Record<QueueKey, readonly (typeof APP_SERVICES)[number][]> = {
      sync: ['api', 'worker'],
      notifications: ['worker', 'notifier'],
      maintenance: ['notifier'],
      email: ['notifier'],
    };
    for (const [queue, roles] of Object.entries(producers) as [QueueKey, string[]][]) {
      for (const variable of queues[queue].env) {
        const values = roles.map((role) => environmentOf(service(role))[variable]);
        expect(new Set(values).size, `${variable} on ${roles.join(', ')}: ${values}`).toBe(1);
      }
    }
  });

  it('gives the encryption keys only to the roles that decrypt or encrypt secrets', () => {
    const keyVariables = ['SECRET_ENCRYPTION_KEY', 'SECRET_DECRYPTION_KEYS'];
    for (const name of APP_SERVICES) {
      const env = environmentOf(service(name));
      const needs = (requiredByRole[name] as readonly string[]).includes('SECRET_ENCRYPTION_KEY');
      for (const variable of keyVariables) {
        expect(variable in env, `${name} ${variable}`).toBe(needs);
      }
    }
    // The notifier reads settings, never a secret: its code names no key.
    expect(requiredByRole.notifier as readonly string[]).not.toContain('SECRET_ENCRYPTION_KEY');
    const notifierSources = sourcesOf('apps/notifier/src');
    expect(notifierSources.length).toBeGreaterThan(0);
    for (const file of notifierSources) {
      const text = read(file);
      for (const name of [...keyVariables, 'revealSecret']) {
        expect(text, `${file} mentions ${name}`).not.toContain(name);
      }
    }
  });

  it('runs Redis with a password, and its healthcheck uses it', () => {
    const redis = service('redis');
    const args = argv(redis.command);
    expect(args).toContain('--requirepass');
    expect(args[args.indexOf('--requirepass') + 1]).toMatch(REQUIRED_REDIS_PASSWORD);
    expect(environmentOf(redis).REDISCLI_AUTH).toMatch(REQUIRED_REDIS_PASSWORD);
    expect(argv(redis.healthcheck?.test)).toContain('redis-cli');
  });

  it.each(['redis', 'mailpit'])('publishes %s on this machine only, if at all', (name) => {
    for (const port of service(name).ports ?? []) {
      if (typeof port === 'object') {
        expect(port.host_ip, `${name} port ${JSON.stringify(port)}`).toBe('127.0.0.1');
        continue;
      }
      // "host_ip:host:container"; a bare "host:container" binds every interface.
      expect(String(port), `${name} port ${port}`).toMatch(/^127\.0\.0\.1:\d+:\d+(\/(tcp|udp))?$/);
    }
  });

  it.each(APP_SERVICES)('%s runs a role command that exists', (name) => {
    const s = service(name);
    expect(s.entrypoint, 'the image entrypoint is kept').toBeUndefined();
    checkCommand(`services.${name}.command`, argv(s.command));
  });

  it.each([
    ['api', 'PORT'],
    ['worker', 'WORKER_HEALTH_PORT'],
    ['notifier', 'NOTIFIER_HEALTH_PORT'],
  ] as const)('%s has a healthcheck on /readyz at its %s', (name, portVariable) => {
    const s = service(name);
    const port = environmentOf(s)[portVariable];
    expect(port, `${name} sets ${portVariable}`).toMatch(/^[1-9][0-9]*$/);
    const test = argv(s.healthcheck?.test).join(' ');
    expect(test).toContain(`http://127.0.0.1:${port}/readyz`);
  });

  it('runs two workers, and can run more', () => {
    const worker = service('worker');
    expect(worker.deploy?.replicas).toBeGreaterThanOrEqual(2);
    // Replicas cannot share a container name or a host port.
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
  });

  it('builds the app services from the Dockerfile at the repo root', () => {
    for (const name of APP_SERVICES) {
      const build = service(name).build;
      expect(typeof build === 'object' && build !== null, `${name} builds the image`).toBe(true);
      if (typeof build !== 'object') continue;
      expect(resolve(root, build.context ?? '.')).toBe(root);
      expect(build.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
      expect(dockerfile().stages.map((s) => s.name)).toContain(build.target);
    }
  });
});

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

function dockerfile(): { stages: Stage[]; args: Map<string, string> } {
  // Continuation lines joined; comments dropped.
  const text = read('Dockerfile')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  const args = new Map<string, string>();
  for (const line of text) {
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(line);
    if (from) {
      stages.push({ from: from[1] ?? '', name: from[2] ?? String(stages.length), lines: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage) stage.lines.push(line);
    else {
      const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$/i.exec(line);
      if (arg) args.set(arg[1] ?? '', arg[2] ?? '');
    }
  }
  return { stages, args };
}

describe('Dockerfile', () => {
  it('has build and runtime stages from Node 22, each FROM a real image or an earlier stage', () => {
    const { stages, args } = dockerfile();
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names = stages.map((s) => s.name);
    stages.forEach((stage, i) => {
      const image = stage.from.replace(/\$\{(\w+)\}/g, (_, name: string) => args.get(name) ?? '');
      const earlier = names.slice(0, i);
      if (earlier.includes(image)) return;
      expect(image, `stage ${stage.name}`).toMatch(/^node:22([.-]|$)/);
    });
  });

  it('COPYs only files that exist, or from earlier stages', () => {
    const { stages } = dockerfile();
    let copies = 0;
    stages.forEach((stage, i) => {
      for (const line of stage.lines) {
        if (!/^(COPY|ADD)\s/i.test(line)) continue;
        copies++;
        const words = line.split(/\s+/).slice(1);
        const flags = words.filter((w) => w.startsWith('--'));
        const paths = words.filter((w) => !w.startsWith('--'));
        const fromStage = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        const sources = paths.slice(0, -1);
        expect(sources.length, line).toBeGreaterThan(0);
        if (fromStage !== undefined) {
          expect(
            stages.slice(0, i).map((s) => s.name),
            `${line}: --from names an earlier stage`,
          ).toContain(fromStage);
          continue;
        }
        for (const source of sources) {
          expect(existsSync(join(root, source)), `${line}: ${source} exists`).toBe(true);
        }
      }
    });
    expect(copies).toBeGreaterThan(0);
  });

  it('installs with the frozen lockfile using the pinned pnpm, builds, and prunes to production', () => {
    const all = dockerfile()
      .stages.flatMap((s) => s.lines)
      .join('\n');
    const pnpmVersion = rootPackage.packageManager?.replace(/^pnpm@/, '');
    expect(pnpmVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(all).toContain(`npm install --global pnpm@${pnpmVersion}`);
    expect(all).toContain('pnpm install --frozen-lockfile');
    expect(all).toContain('pnpm build');
    expect(all).toMatch(/pnpm install --frozen-lockfile --prod|pnpm deploy .*--prod/);
    expect(existsSync(join(root, 'pnpm-lock.yaml'))).toBe(true);
    const ignore = read('.dockerignore');
    expect(ignore).toMatch(/node_modules/);
    expect(ignore).toMatch(/dist/);
  });

  it('runs as a non-root user with NODE_ENV=production, a role command by default', () => {
    const { stages } = dockerfile();
    const final = stages.at(-1);
    expect(final).toBeDefined();
    const lines = final?.lines ?? [];
    const user = lines.filter((l) => /^USER\s/i.test(l)).at(-1);
    expect(user, 'a USER instruction').toBeDefined();
    expect(user?.split(/\s+/)[1]).not.toMatch(/^(root|0)(:|$)/);
    expect(lines.some((l) => /^ENV\s+.*NODE_ENV=production/i.test(l))).toBe(true);
    const cmd = lines.filter((l) => /^CMD\s/i.test(l)).at(-1) ?? '';
    const command = JSON.parse(cmd.replace(/^CMD\s+/i, '')) as string[];
    checkCommand('Dockerfile CMD', command);
  });
});
