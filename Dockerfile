# agentdeck container image: the web UI is built in a Node stage, the wheels in a Python stage,
# and the runtime is a slim Python image running as an unprivileged user.
#
#   docker build -t agentdeck .
#   docker run -p 8000:8000 -e AGENTDECK_SECRET_KEY=$(openssl rand -hex 32) agentdeck
#
# The image serves on 0.0.0.0:8000 and keeps its embedded data in /data (a volume).

ARG PYTHON_VERSION=3.11
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS ui
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
# vite writes the bundle to ../src/agentdeck/server/static
RUN mkdir -p ../src/agentdeck/server && npm run build

FROM python:${PYTHON_VERSION}-slim-bookworm AS wheels
WORKDIR /build
RUN pip install --no-cache-dir "hatchling>=1.25"
COPY pyproject.toml hatch_build.py README.md ./
COPY sdk/ sdk/
COPY src/ src/
COPY --from=ui /build/src/agentdeck/server/static/ src/agentdeck/server/static/
RUN python -m hatchling build -t wheel -d /wheels \
 && cd sdk && python -m hatchling build -t wheel -d /wheels

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGENTDECK_ENVIRONMENT=production \
    AGENTDECK_SERVER__HOST=0.0.0.0 \
    AGENTDECK_SERVER__PORT=8000 \
    AGENTDECK_DATA_DIR=/data \
    AGENTDECK_DATABASE__URL=sqlite+aiosqlite:////data/state.db \
    AGENTDECK_LOG_JSON=true
RUN groupadd --system --gid 10001 agentdeck \
 && useradd --system --uid 10001 --gid agentdeck --home-dir /data --shell /usr/sbin/nologin agentdeck \
 && mkdir -p /data && chown agentdeck:agentdeck /data
COPY --from=wheels /wheels /wheels
RUN pip install --no-cache-dir /wheels/agentdeck_sdk-*.whl /wheels/agentdeck-*.whl \
 && rm -rf /wheels
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["agentdeck"]
CMD ["serve"]
