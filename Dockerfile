# AAR Bot image: `docker build --network host -t aar-bot .`
#   then `docker run --env-file .env -v aar-data:/data aar-bot`, or `docker compose up -d`.
#
# The package is installed *editable* from /app on purpose: bot/config.py finds the shipped thread
# (data/aar-thread.txt, auto-imported on first run) relative to its own source file, which only works
# while the source stays next to data/ rather than being copied into site-packages.
FROM python:3.12-slim

# Where pip gets packages: PyPI, or a mirror given with `--build-arg PIP_INDEX_URL=https://mirror/simple`.
# An ARG reaches RUN as an environment variable (pip reads it) and is not in the final image's
# environment, but Docker records every build argument a RUN uses in the image's history, where
# `docker history --no-trunc` shows it to anyone with the image: never pass a URL holding a password.
# (A BuildKit build secret would keep it out, but needs buildx, which plain Debian Docker lacks; the
# image must build with the classic builder too.)
ARG PIP_INDEX_URL=https://pypi.org/simple

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    AAR_DB_PATH=/data/aar.db \
    AAR_HEALTH_FILE=/tmp/aar-bot.health
# matplotlib (the charts) caches fonts under $HOME, which the image's non-root user cannot write.
ENV MPLCONFIGDIR=/tmp/matplotlib

WORKDIR /app

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when the dependencies
# change, not on every source edit.  The build backend is installed here too so that the editable
# install below needs no network.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb')); \
print('\n'.join(p['project']['dependencies'] + p['build-system']['requires']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir --requirement /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# A fixed uid/gid, so a host directory mounted on /data can be given to it (chown 10001).
RUN groupadd --system --gid 10001 aar \
    && useradd --system --no-log-init --uid 10001 --gid aar --home-dir /nonexistent --shell /usr/sbin/nologin aar \
    && mkdir /data \
    && chown aar:aar /data

COPY . .
RUN pip install --no-cache-dir --no-deps --no-build-isolation --editable . \
    && aar-bot --help > /dev/null \
    && python -c "from bot.config import SHIPPED_THREAD; assert SHIPPED_THREAD.is_file(), SHIPPED_THREAD"

# The database lives here; declared after the chown so a fresh named volume starts owned by `aar`.
VOLUME ["/data"]
# Numeric, so orchestrators (e.g. Kubernetes runAsNonRoot) can verify it is not root without /etc/passwd.
USER 10001:10001

# Healthy only while the bot is connected to Discord: it refreshes $AAR_HEALTH_FILE every ~15 s.  With
# AAR_HTTP_PORT set, the probe asks the bot's /healthz instead (every shard connected, database answering).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]

# Exec form: aar-bot is PID 1 and receives SIGTERM from `docker stop` directly, and stops cleanly.
STOPSIGNAL SIGTERM
ENTRYPOINT ["aar-bot"]
CMD ["run"]
