# One image for web, worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .
COPY . .
RUN DJANGO_SECRET_KEY=build-only DATABASE_URL=postgres://build-only/none \
    python manage.py collectstatic --noinput \
    && DATABASE_URL=postgres://build-only/none python manage.py compilemessages -l en -i .venv
RUN useradd --create-home crm && mkdir -p /app/media && chown crm /app/media
USER crm
EXPOSE 8000
CMD ["gunicorn", "crm_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
