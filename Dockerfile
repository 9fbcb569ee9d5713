FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TZ=UTC
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY qlosync ./qlosync
COPY migrations ./migrations
# Editable install: alembic.ini and migrations/ are read from /app at run time.
RUN pip install --no-cache-dir -e . && useradd --system --home /app qlosync
USER qlosync
CMD ["qlosync", "status"]
