# syntax=docker/dockerfile:1
# One image for the four services; the command picks the service:
#   docker run IMAGE python -m services.intake     (or routing, notify, stats)
#   docker run IMAGE crp topics ensure             (the operator's CLI)
# Configuration comes only from the environment (shared/settings.py); no secret is baked in.

# --- build: a virtualenv with the runtime dependencies, pinned by requirements.txt ---
FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
COPY requirements.txt deploy/docker/requirements-runtime.in /tmp/req/
# Names from requirements-runtime.in, versions from requirements.txt: the test and dev tools stay out.
RUN /opt/venv/bin/pip install -r /tmp/req/requirements-runtime.in -c /tmp/req/requirements.txt
COPY shared /app/shared
COPY services /app/services
# Byte-compile once here, so the read-only root filesystem at run time never needs to write .pyc files.
RUN /opt/venv/bin/python -m compileall -q /app /opt/venv/lib \
    && printf '#!/opt/venv/bin/python\nfrom shared.cli import app\napp()\n' > /opt/venv/bin/crp \
    && chmod 0755 /opt/venv/bin/crp

# --- runtime: the same slim base, no compilers, no pip cache, a non-root user ---
FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="concern-platform" \
      org.opencontainers.image.description="Concern-referral platform services: intake, routing, notify, stats"
RUN groupadd --system --gid 10001 crp \
    && useradd --system --uid 10001 --gid crp --home-dir /app --no-create-home --shell /usr/sbin/nologin crp \
    && mkdir -p /var/lib/crp \
    && chown crp:crp /var/lib/crp
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HTTP_HOST=0.0.0.0 \
    F_DATADIR=/var/lib/crp/faust
WORKDIR /app
USER 10001:10001
# Each service listens on its own port (intake 8001, routing 8002, notify 8003, stats 8004); set HTTP_PORT.
EXPOSE 8001 8002 8003 8004
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HTTP_PORT', '8000'), timeout=4)"]
CMD ["crp", "--help"]
