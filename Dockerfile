FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TZ=UTC
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY qlosync ./qlosync
COPY migrations ./migrations
# Editable install: alembic.ini and migrations/ are read from /app at run time.
RUN pip install --no-cache-dir -e . && useradd --system --home /app qlosync
USER qlosync
# 5000: the admin API (`qlosync api`); 9100: a worker's, relay's or scheduler's metrics (QLOSYNC_METRICS_PORT).
EXPOSE 5000 9100
# SIGTERM stops every entry point; a dramatiq master forwards it once to its worker processes, which finish
# their running actors first (compose gives workers stop_grace_period: 11m).
STOPSIGNAL SIGTERM
CMD ["qlosync", "status"]
