# The operator image (charts/bloodraven runs it). Build the bundle first:
#
#   npm ci && npm run build
#   docker build -t ghcr.io/shipstream/bloodraven:0.1.0 .
#
# dist/bloodraven.mjs is one self-contained ES module (esbuild bundles every dependency into it),
# so the image needs Node.js and nothing else: no node_modules, no npm at runtime.
#
# The test cluster builds this image without Docker from this very file (scripts/images/), so
# keep to FROM node:<exact version>-<variant>, ENV, WORKDIR, USER, EXPOSE, COPY <file> <path>,
# and exec-form ENTRYPOINT/CMD; anything else fails that build with the line named.
FROM node:24.22.3-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app
# Only the operator bundle; dist/ also holds the kubectl plugin, which runs on laptops, not here.
COPY dist/bloodraven.mjs /app/bloodraven.mjs

# A numeric non-root user, so `runAsNonRoot` can be verified without /etc/passwd. The chart's
# securityContext uses the same id, with a read-only root filesystem and no capabilities.
USER 65532:65532

# metrics, health (/healthz, /readyz), status (/status, /active-site, /ws/status)
EXPOSE 8080 8081 8082

ENTRYPOINT ["node", "/app/bloodraven.mjs"]
CMD ["operator"]
