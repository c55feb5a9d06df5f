# syntax=docker/dockerfile:1
# One image per service, all from the same layers: Node 24 slim, production dependencies only, non-root.
# Node 24 runs the .ts entry points directly (type stripping); the chart sets each component's command
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

FROM base AS runtime
COPY --from=deps /app/ ./
COPY packages/ ./packages/
COPY services/ ./services/
# A fixed non-root uid/gid, matched by the chart's podSecurityContext.
USER 10001:10001

FROM runtime AS sandbox
EXPOSE 3900
CMD ["node", "packages/sandbox/src/main.ts"]

FROM runtime AS metrics
EXPOSE 9100 9443
CMD ["node", "services/metrics/src/main.ts"]

FROM runtime AS worker
EXPOSE 9102
CMD ["node", "services/worker/src/main.ts"]

# Last, so a plain `docker build .` gives the gateway.
FROM runtime AS gateway
EXPOSE 3000 9101
CMD ["node", "services/gateway/src/main.ts"]
