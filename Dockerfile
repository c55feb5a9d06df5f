# syntax=docker/dockerfile:1
# One image per service, all from the same layers: Node 24 slim, production dependencies only, non-root.
# The image runs the production build (`make build`: one bundle per service, services/<name>/dist/main.js,
# with source maps), never the .ts sources; the chart sets each component's command
# (charts/telegram-receiver/templates/_helpers.tpl, "tr.command"), so any target serves every component.
#   docker build --target gateway -t telegram-receiver:gateway .
#   docker build --target worker  -t telegram-receiver:worker .
#   docker build --target metrics -t telegram-receiver:metrics .
#   docker build --target sandbox -t telegram-receiver:sandbox .
# Checked by `make docker-lint` (BuildKit's Dockerfile checks, no Docker engine needed).
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-slim AS base
WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false

# Only the package manifests, so the dependency layer below is rebuilt only when they change.
FROM base AS manifests
COPY . /src
RUN mkdir -p /out \
 && cd /src \
 && find . -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /out/ \; \
 && cp package-lock.json /out/

FROM base AS deps
COPY --from=manifests /out/ ./
RUN npm ci --omit=dev --ignore-scripts --no-audit \
 && npm cache clean --force

# The build needs the dev dependencies (esbuild); only its dist/ folders reach the image.
FROM base AS build
COPY --from=manifests /out/ ./
RUN npm ci --include=dev --ignore-scripts --no-audit
COPY . ./
RUN node scripts/build.ts

FROM base AS runtime
COPY --from=deps /app/ ./
COPY --from=build /app/packages/core/dist/ ./packages/core/dist/
COPY --from=build /app/packages/sandbox/dist/ ./packages/sandbox/dist/
COPY --from=build /app/services/gateway/dist/ ./services/gateway/dist/
COPY --from=build /app/services/worker/dist/ ./services/worker/dist/
COPY --from=build /app/services/metrics/dist/ ./services/metrics/dist/
# A fixed non-root uid/gid, matched by the chart's podSecurityContext.
USER 10001:10001

FROM runtime AS sandbox
EXPOSE 3900
CMD ["node", "--enable-source-maps", "packages/sandbox/dist/main.js"]

FROM runtime AS metrics
EXPOSE 9100 9443
CMD ["node", "--conditions=production", "--import", "@telegram-receiver/core/register", "services/metrics/dist/main.js"]

FROM runtime AS worker
EXPOSE 9102
CMD ["node", "--conditions=production", "--import", "@telegram-receiver/core/register", "services/worker/dist/main.js"]

# Last, so a plain `docker build .` gives the gateway.
FROM runtime AS gateway
EXPOSE 3000 9101
CMD ["node", "--conditions=production", "--import", "@telegram-receiver/core/register", "services/gateway/dist/main.js"]
