# The OMS worker image: `oms worker` on python:3.11-slim, runtime dependencies only, non-root.
# Built by `cdk deploy` (infra/components/workers.py) from the project root.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
# `pip install .` installs the package and its pinned runtime dependencies, no extras.
RUN python -m venv /opt/oms && /opt/oms/bin/pip install .

FROM python:3.11-slim-bookworm
ENV PATH=/opt/oms/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin oms
COPY --from=build /opt/oms /opt/oms
USER 10001
# SIGTERM from ECS reaches the worker directly (exec form), which drains and exits 0.
ENTRYPOINT ["oms", "worker"]
