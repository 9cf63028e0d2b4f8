# One image for every process: web (gunicorn, the default CMD), migrate, Celery worker and beat.
# Configuration comes only from ACTIONKIT_* environment variables (see .env.example); nothing secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 actionkit \
    && useradd --system --uid 10001 --gid actionkit --home-dir /app --no-create-home --shell /usr/sbin/nologin actionkit

WORKDIR /app

# Runtime dependencies first, read from pyproject.toml, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The package itself (no [test] extra). migrations/ and templates/ sit beside the package, not inside it,
# so the processes run the source tree in /app (PYTHONPATH) and the installed copy only provides metadata.
COPY . .
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info \
    && if ls actionkit/translations/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
           pybabel compile --directory actionkit/translations; \
       fi \
    && mkdir -p instance \
    && chown actionkit:actionkit instance

USER actionkit

# WEB_CONCURRENCY is gunicorn's own worker-count variable; about 2 x CPU cores + 1 is a good start.
ENV PYTHONPATH=/app \
    FLASK_APP=actionkit \
    WEB_CONCURRENCY=3

EXPOSE 8000

# No curl in the slim image: urlopen raises on a non-2xx answer (503 when the database or broker is down).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# No access log: it would record client IP addresses, which the app never stores.
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "actionkit:create_app()"]
