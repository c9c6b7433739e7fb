# syntax=docker/dockerfile:1.7
#
# One image for every Stationhouse process; the command picks the service:
#
#   docker build -t stationhouse .
#   docker run stationhouse                                     # the gateway on :8000
#   docker run stationhouse python -m servicekit.serve records_service.main:create_app \
#       --host 0.0.0.0 --port 8002 --drain-seconds 5
#   docker run stationhouse stationhouse migrate                # every service's migrations
#
# docker-compose.yml and deploy/k8s run it this way. The process runs as uid 10001 and writes
# only to /var/lib/stationhouse (documents, data) and /tmp, so the root file system can be
# mounted read-only.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
ARG NODE_IMAGE=node:22.12.0-bookworm-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# --- the web UI: static files the gateway serves at / ---------------------------------------
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY web/package*.json ./
RUN if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
    else npm install --no-audit --no-fund; fi
COPY web/ ./
RUN npm run build

# --- Python: the locked dependencies, then the workspace ------------------------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /uvx /usr/local/bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Dependencies change less often than code: install them in their own layer from the lock alone.
COPY pyproject.toml uv.lock ./
COPY libs/servicekit/pyproject.toml libs/servicekit/
COPY services/auth/pyproject.toml services/auth/
COPY services/records/pyproject.toml services/records/
COPY services/prediction/pyproject.toml services/prediction/
COPY services/hotspots/pyproject.toml services/hotspots/
COPY gateway/pyproject.toml gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace

# The workspace itself. Members stay editable installs pointing at /app: each service finds its
# Alembic migrations next to its source (services/<name>/migrations).
COPY README.md ./
COPY src/ src/
COPY libs/ libs/
COPY services/ services/
COPY gateway/ gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# --- runtime: no build tools, no uv, no compilers --------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
RUN groupadd --system --gid "${UID}" stationhouse \
    && useradd --system --uid "${UID}" --gid stationhouse --home-dir /nonexistent \
       --no-create-home --shell /usr/sbin/nologin stationhouse \
    && mkdir -p /var/lib/stationhouse/documents /var/lib/stationhouse/data \
    && chown -R stationhouse:stationhouse /var/lib/stationhouse

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STATIONHOUSE_DATA_DIR=/var/lib/stationhouse/data \
    GATEWAY_WEB_DIST=/app/web/dist \
    RECORDS_DOCUMENTS_DIR=/var/lib/stationhouse/documents

WORKDIR /app
COPY --from=build --chown=root:root /app /app
COPY --from=web --chown=root:root /web/dist /app/web/dist

USER 10001:10001
EXPOSE 8000 8001 8002 8003 8004
VOLUME ["/var/lib/stationhouse/documents", "/var/lib/stationhouse/data"]

# Liveness of whichever service runs here is checked by compose/k8s on its own port.
CMD ["python", "-m", "servicekit.serve", "gateway.main:create_app", \
     "--host", "0.0.0.0", "--port", "8000", "--drain-seconds", "5"]
