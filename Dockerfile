# One image for web, worker and beat. Built from the sources only (.dockerignore keeps
# .env, .venv, .git, media and local databases out); it runs as an unprivileged user.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 crm
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .
COPY . .
# Static files with hashed names (the production settings' manifest storage), collected
# with placeholder values that exist only for this step: no secret is in the image.
RUN DJANGO_SETTINGS_MODULE=crm_site.settings.production \
    DJANGO_SECRET_KEY=build-step-only-placeholder-never-used-to-sign-anything-0123456789 \
    DJANGO_ALLOWED_HOSTS=build.invalid DATABASE_URL=postgres://build-only/none \
    FIELD_ENCRYPTION_KEYS=YnVpbGQtc3RlcC1vbmx5LXBsYWNlaG9sZGVyLWtleSE= \
    PERSONAL_DATA_HASH_KEY=build-step-only \
    python manage.py collectstatic --noinput \
    && DATABASE_URL=postgres://build-only/none python manage.py compilemessages -l en -i .venv \
    && mkdir -p /app/media && chown crm /app/media
USER crm
EXPOSE 8000
CMD ["gunicorn", "crm_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
