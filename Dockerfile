# The operator image (charts/bloodraven runs it), built in two stages from a clean checkout:
#
#   docker build --build-arg REVISION=$(git rev-parse --short HEAD) -t ghcr.io/shipstream/bloodraven:0.1.0 .
#
# Stage `build` installs the locked dependencies and bundles the operator with esbuild; the image
# keeps only that bundle, one self-contained ES module, on Node.js: no node_modules, no npm use at
# runtime. Both stages name the same exact Node.js release (24, an LTS line).
#
# The test cluster builds this image without Docker from this very file (scripts/images/), so
# keep to FROM node:<exact version>-<variant> [AS <name>], ARG, ENV, WORKDIR, USER, EXPOSE,
# COPY [--from=<stage>] <sources> <target>, shell-form RUN and exec-form ENTRYPOINT/CMD; anything
# else fails that build with the line named. .dockerignore lists what the context holds.
FROM node:24.22.3-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/
COPY shared shared/
COPY operator operator/
COPY cli cli/
# The commit the operator reports (`version`, bloodraven_build_info); the context has no .git.
ARG REVISION=unknown
RUN BLOODRAVEN_COMMIT=$REVISION npm run build

FROM node:24.22.3-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/dist/bloodraven.mjs /app/bloodraven.mjs

# A numeric non-root user, so `runAsNonRoot` can be verified without /etc/passwd. The chart's
# securityContext uses the same id, with a read-only root filesystem and no capabilities.
USER 65532:65532

# metrics, health (/healthz, /readyz), status (/status, /active-site, /ws/status)
EXPOSE 8080 8081 8082

ENTRYPOINT ["node", "/app/bloodraven.mjs"]
CMD ["operator"]
