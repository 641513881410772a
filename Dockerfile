# syntax=docker/dockerfile:1
#
# One image for every role of the Entra ID sync service. The command picks
# the role (the same entries as the root `pnpm start:*` scripts):
#   node apps/api/dist/main.js         api       (PORT, default 3000)
#   node apps/worker/dist/main.js      worker    (health on WORKER_HEALTH_PORT, 3001)
#   node apps/notifier/dist/main.js    notifier  (health on NOTIFIER_HEALTH_PORT, 3002)
#   node apps/standalone/dist/main.js  all three in one process (the default)
# Node runs as PID 1 directly, not under pnpm: pnpm does not pass SIGTERM on
# to the script it runs, and the roles shut down gracefully on SIGTERM.

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS base
ENV CI=true
RUN npm install --global pnpm@12.4.2
WORKDIR /app

# Install with the frozen lockfile, build every package, then prune to the
# production dependencies (the same lockfile, devDependencies left out).
FROM base AS build
COPY . .
RUN pnpm install --frozen-lockfile
RUN pnpm build
RUN find . -name node_modules -type d -prune -exec rm -rf '{}' + \
 && pnpm install --frozen-lockfile --prod --prefer-offline

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and only readable by the service user: the code cannot be changed at run time.
COPY --from=build /app /app
USER node
EXPOSE 3000 3001 3002
CMD ["node", "apps/standalone/dist/main.js"]
