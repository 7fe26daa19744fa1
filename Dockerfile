# kvp as a container: `docker build -t kvp .` then
#   docker run --rm kvp run --brokers kafka:9092 --group orders --topic orders --handler /app/handlers/orders.js
# Mount or COPY your handler module into the image (handlers run inside kvp's worker threads).

# ---- build: compile librdkafka (inside node-rdkafka) and kvp itself, as CI does ----
FROM node:20-bookworm AS build
WORKDIR /app
# node-gyp needs python3, make and g++; librdkafka links OpenSSL, SASL and zlib.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libssl-dev libsasl2-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY workers ./workers
COPY bench ./bench
COPY test ./test
COPY tools ./tools
COPY proto ./proto
COPY bin ./bin
# `npm ci` runs kvp's `postinstall` (scripts/patch-node-rdkafka.js), as on any machine: it
# patches node-rdkafka, builds zstd from a registry package's sources and links it into
# librdkafka when the image has no zstd headers, and fails unless librdkafka has every codec,
# TLS and SASL; then `prepare` compiles the TypeScript to dist/. The patch and the scripts
# come first. librdkafka.so carries zstd itself, so the run stage needs no libzstd.
COPY patches ./patches
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund

# ---- run: the compiled engine, production dependencies only ----
FROM node:20-bookworm-slim
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl3 libsasl2-2 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
# Memory that stays flat under load, whatever the backlog (docs/benchmarks.md, "Memory
# against backlog"): two malloc arenas, as librdkafka's threads otherwise fragment one each,
# and (in ENTRYPOINT) a V8 young generation of 2 MiB semi-spaces, which otherwise grows to
# 16 MiB on the main thread under sustained load. Neither costs measurable throughput.
ENV MALLOC_ARENA_MAX=2
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
# Only what runs: the engine and its worker entry (dist/ also holds compiled tests and benchmarks).
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/workers ./dist/workers
COPY --from=build /app/proto ./proto
COPY --from=build /app/bin ./bin
# The status page's own files (uPlot comes from node_modules).
COPY ui ./ui
USER node
# The operations server (status page, /status, /healthz, /readyz, /metrics) is on in the
# image, bound to the container's loopback: the HEALTHCHECK below reaches it, nothing
# outside does until KVP_HTTP_HOST=0.0.0.0 (or --http-host) says so, e.g. for Kubernetes
# probes. KVP_HTTP_PORT= (empty) or another port changes it.
ENV KVP_HTTP_PORT=9464
# Liveness as Docker sees it: /healthz answers 200. Node's own fetch, since the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.KVP_HTTP_PORT||9464)+'/healthz').then((r)=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM stops kvp cleanly: drain in-flight slices, commit, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=2", "/app/bin/kvp.js"]
CMD ["--help"]
