# syntax=docker/dockerfile:1
# One image for the Bullpen API and dispatcher; the command `api` or `dispatcher` picks one.
# Build: docker build --platform linux/arm64 -t bullpen .
# NOTE: no automated test builds this image, so run the build above after changing it.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM --platform=linux/arm64 ${NODE_IMAGE} AS build
WORKDIR /repo
RUN corepack enable
# Fetching from the lock file alone keeps this layer cached until dependencies change.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch --frozen-lockfile
COPY . .
RUN pnpm install --offline --frozen-lockfile
# Each entry becomes one CommonJS file with its dependencies, so the runtime image needs
# no node_modules. pino-pretty is only loaded by pino transports, which the services do
# not use.
RUN pnpm exec esbuild \
      api=services/api/src/main.ts \
      dispatcher=services/dispatcher/src/main.ts \
      --bundle --platform=node --target=node20 --format=cjs \
      --sourcemap --sources-content=false --external:pino-pretty \
      --outdir=/out

FROM --platform=linux/arm64 ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out/ /app/
COPY infra/docker/api.node-flags infra/docker/dispatcher.node-flags /app/
COPY infra/docker/entrypoint.sh /usr/local/bin/bullpen
USER node
ENTRYPOINT ["/usr/local/bin/bullpen"]
CMD ["dispatcher"]
