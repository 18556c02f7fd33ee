# syntax=docker/dockerfile:1
# The image runs on a maintained Node.js LTS (Node 20 reached its end of life in April 2026);
# the code itself still supports Node 20.18+ (package.json engines), where CI runs it.
# Build: docker build --build-arg NODESENTRY_COMMIT=$(git rev-parse HEAD) -t nodesentry .
ARG NODE_IMAGE=node:24-bookworm-slim

# Build stage: full toolchain, compiles TypeScript to dist/.
FROM ${NODE_IMAGE} AS build
# The commit the build is made from (there is no .git in the context): dist/build-info.json,
# shown by `nodesentry --version`, /livez and nodesentry_build_info.
ARG NODESENTRY_COMMIT=unknown
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# `npm ci` runs the `prepare` script, which builds dist/.
RUN NODESENTRY_COMMIT=${NODESENTRY_COMMIT} npm ci --no-audit --no-fund && npm prune --omit=dev

# Runtime stage: production dependencies and compiled code only, as an unprivileged user.
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# A young generation that holds a flush's garbage, so it dies there instead of being promoted:
# with serve's own old-generation limit (src/main/heap-growth.ts) this keeps a 10,000-node worker
# near 340 MB instead of 520 MB at the same CPU per sweep (README, "Memory").
ENV NODE_OPTIONS=--max-semi-space-size=32
WORKDIR /app
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s --start-period=10s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["serve"]
