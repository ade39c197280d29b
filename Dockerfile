# The OMS worker image: `oms worker` on Python 3.13 (linux/arm64 on Fargate), runtime
# dependencies only, non-root. Built by `cdk deploy` (infra/components/workers.py) from the
# project root; .dockerignore trims the context to this file, the lock and service/oms.
#
# The base is pinned by digest: the multi-arch index of python:3.13-slim, so one pin serves
# arm64 (Fargate) and amd64 (a laptop). Refresh both FROM lines together, on purpose, with:
#   docker buildx imagetools inspect python:3.13-slim --format '{{json .Manifest.Digest}}'
# (docs/DEPLOY.md, "Refreshing the base image").
FROM python:3.13-slim@sha256:6771159cd4fa5d9bba1258caf0b82e6b73458c694d178ad97c5e925c2d0e1a91 AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The locked, hashed dependencies in their own layer: rebuilt only when the lock changes, never
# for a code change. Wheels only, every file checked against its hash.
COPY infra/locks/runtime.txt /tmp/runtime.txt
RUN python -m venv /opt/oms \
    && /opt/oms/bin/pip install --no-deps --require-hashes --only-binary=:all: -r /tmp/runtime.txt
# The code: no build backend to download, the package is imported from /opt/app.
COPY service/oms /opt/app/oms
RUN /opt/oms/bin/python -m compileall -q /opt/app/oms

FROM python:3.13-slim@sha256:6771159cd4fa5d9bba1258caf0b82e6b73458c694d178ad97c5e925c2d0e1a91
ENV PATH=/opt/oms/bin:$PATH \
    PYTHONPATH=/opt/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin oms
COPY --from=build /opt/oms /opt/oms
COPY --from=build /opt/app /opt/app
USER 10001
# Healthy while the worker process is alive: connecting or polling (oms/health.py). ECS runs the
# same command from the task definition (it ignores this instruction).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/oms/bin/python", "-m", "oms.health"]
# Exec form: SIGTERM from ECS reaches the worker directly, which drains and exits 0.
ENTRYPOINT ["/opt/oms/bin/python", "-m", "oms", "worker"]
