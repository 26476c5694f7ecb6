# syntax=docker/dockerfile:1
# One image recipe for every Node service (the gateway included): an image is
# the service's workspace, the workspaces it depends on (package.json
# "dependencies", transitively) and their production node_modules, and it runs
# one precompiled ESM bundle of the service's src/main.ts (main.mjs, made as
# for `npm start`: no type stripping at run time, ~55 % less CPU to start;
# files read at run time — migrations, public/ — stay beside their sources,
# and stack traces name the .ts files). Which
# workspaces that is, scripts/workspaces.ts reads from the package.json files,
# so adding a workspace touches no Dockerfile. Build from the repository root:
#
#   docker build --build-arg SERVICE=catalog -t breakwater/catalog:0.1.0 .
#
# SERVICE is a workspace with src/main.ts: gateway, catalog, orders, payments,
# notifications or frontend.

# --- build stage: pick the workspaces, install their production dependencies, bundle
FROM node:24.21.0-bookworm-slim AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo 'build argument SERVICE is required (e.g. --build-arg SERVICE=catalog)' >&2; exit 1; }
WORKDIR /src
# the build context is runtime code only: .dockerignore keeps build-time tools,
# tests, benches, k8s, k6, docs and development keys out
COPY . .
# esbuild and the source-map codec (the versions the lockfile pins), for this
# stage only: the image tree below is bundled with them
RUN pinned() { node -p "require('./package-lock.json').packages['node_modules/$1'].version"; } \
 && npm install --prefix /bundler --no-save --ignore-scripts --no-audit --no-fund \
      "esbuild@$(pinned esbuild)" "@jridgewell/sourcemap-codec@$(pinned @jridgewell/sourcemap-codec)" \
 && ln -s /bundler/node_modules node_modules
RUN node scripts/workspaces.ts image "$SERVICE" /app

# --- run stage: distroless, no shell, no package manager, uid 65532
FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
COPY --from=build /app ./
USER nonroot
EXPOSE 8080
# No curl or shell in distroless: the image's own node asks /health/live.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# the base image's entrypoint is node; main.mjs is the service's bundle
CMD ["main.mjs"]
