"""What an operator who forgets a setting gets: a refusal to start, never a public
default. Production settings and docker-compose.yml are checked as they are shipped."""

import os
import shutil
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "crm_site.settings.production",
    "DJANGO_SECRET_KEY": "x9-" * 20 + "production-like-secret-key",
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    "FIELD_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1saWtlLWZpZWxkLWtleS0wMDAwMDA=",
    "PERSONAL_DATA_HASH_KEY": "production-like-personal-data-hash-key",
}


def _manage(*args, **overrides):
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_TRUST_X_FORWARDED_PROTO")}
    env.update(PRODUCTION)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run([sys.executable, "manage.py", *args], env=env, capture_output=True,
                          text=True, cwd=settings.BASE_DIR, check=False)


@pytest.mark.parametrize("secret", [
    None,  # forgotten
    "",
    "dev-only-insecure-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz",  # the dev default
    "change-me-to-a-long-random-string-of-at-least-50-characters",  # .env.example's
    "short-secret",
])
def test_production_refuses_to_start_without_a_real_secret_key(secret):
    result = _manage("check", DJANGO_SECRET_KEY=secret)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def _proxy_header(**overrides):
    result = _manage("shell", "-c",
                     "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)",
                     **overrides)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_x_forwarded_proto_is_trusted_only_when_configured():
    assert _proxy_header() == "None"
    assert _proxy_header(DJANGO_TRUST_X_FORWARDED_PROTO="true") == \
        "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_a_forged_x_forwarded_proto_does_not_make_a_request_secure(client):
    """Base and production settings alike: a client's header does not pass for HTTPS."""
    response = client.get("/healthz", HTTP_X_FORWARDED_PROTO="https")
    assert response.wsgi_request.is_secure() is False


def _compose_command():
    """`docker compose` (v2) or `docker-compose` (v1), whichever is installed."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"],
                                                 capture_output=True, check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


needs_compose = pytest.mark.skipif(_compose_command() is None,
                                   reason="neither docker compose nor docker-compose is installed")


def _compose_config(tmp_path, **env_overrides):
    env = {key: value for key, value in os.environ.items() if not key.startswith(
        ("DJANGO_", "FIELD_ENCRYPTION", "PERSONAL_DATA", "POSTGRES_"))}
    env.update({"FIELD_ENCRYPTION_KEYS": PRODUCTION["FIELD_ENCRYPTION_KEYS"],
                "PERSONAL_DATA_HASH_KEY": PRODUCTION["PERSONAL_DATA_HASH_KEY"]})
    env.update(env_overrides)
    # The shipped compose file beside an empty .env (the stack requires one): an
    # operator's .env in the checkout must not fill the gap.
    compose = tmp_path / "docker-compose.yml"
    shutil.copy(settings.BASE_DIR / "docker-compose.yml", compose)
    empty = tmp_path / ".env"
    empty.write_text("")
    return subprocess.run([*_compose_command(), "-f", str(compose), "--env-file", str(empty),
                           "config"], env=env, capture_output=True, text=True, cwd=tmp_path,
                          check=False)


@needs_compose
def test_compose_refuses_to_start_without_a_secret_key(tmp_path):
    result = _compose_config(tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@needs_compose
def test_compose_publishes_only_the_proxy(tmp_path):
    import yaml

    result = _compose_config(tmp_path, DJANGO_SECRET_KEY=PRODUCTION["DJANGO_SECRET_KEY"])
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for name in ("db", "redis"):
        ports = services[name]["ports"]
        assert ports
        for port in ports:
            host_ip = port["host_ip"] if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", (name, port)
    assert "ports" not in services["web"]
    assert {port["target"] for port in services["proxy"]["ports"]} == {80, 443}
    assert services["web"]["environment"]["DJANGO_TRUST_X_FORWARDED_PROTO"] == "true"


# What is shipped, read as files (no docker needed) ------------------------------------------------

def _compose_file():
    import yaml

    return yaml.safe_load((settings.BASE_DIR / "docker-compose.yml").read_text())


APP_SERVICES = ("migrate", "web", "worker", "beat")


def test_the_image_keeps_secrets_and_local_state_out():
    ignored = {line.strip() for line in (settings.BASE_DIR / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".env", ".venv", ".git", ".demo", "media", "staticfiles", "test-artifacts",
            "deploy/certs", "*.sqlite3", ".pytest_cache"} <= ignored
    assert "!.env.example" in ignored


def test_the_image_runs_as_an_unprivileged_user():
    lines = [line.split() for line in (settings.BASE_DIR / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    users = [words[1] for words in lines if words[0] == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert lines[-1][0] == "CMD" and any(words[0] == "USER" for words in lines[-4:])


def test_every_app_service_reads_the_env_file():
    services = _compose_file()["services"]
    for name in APP_SERVICES:
        assert services[name]["env_file"] == ".env", name


def test_the_proxy_terminates_tls_with_mounted_certificates_and_is_the_only_way_in():
    compose = _compose_file()
    services = compose["services"]
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:")
    mounts = {volume.rsplit(":", 2)[1]: volume for volume in proxy["volumes"]}
    assert mounts["/etc/nginx/certs"].endswith(":ro")
    assert mounts["/etc/nginx/conf.d/default.conf"].startswith("./deploy/nginx.conf:")
    assert "ports" not in services["web"]
    conf = (settings.BASE_DIR / "deploy" / "nginx.conf").read_text()
    assert "ssl_certificate /etc/nginx/certs/fullchain.pem;" in conf
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf  # the client's own dropped
    assert "proxy_set_header X-Forwarded-Proto https;" in conf
    # The trusted proxies are this stack's own network, which only its containers join.
    environment = compose["x-app"]["environment"]
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert environment["TRUSTED_PROXIES"] == "${TRUSTED_PROXIES:-172.28.0.0/16}"
    assert subnet == "${COMPOSE_SUBNET:-172.28.0.0/16}"
    assert environment["DJANGO_TRUST_X_FORWARDED_PROTO"] == "${DJANGO_TRUST_X_FORWARDED_PROTO:-true}"
    assert environment["MEDIA_ACCEL_REDIRECT"] == "${MEDIA_ACCEL_REDIRECT:-/protected-media/}"


def _setting(expression, **overrides):
    result = _manage("shell", "-c", f"from django.conf import settings; print({expression})",
                     **overrides)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_production_serves_static_files_under_hashed_names():
    assert _setting('settings.STORAGES["staticfiles"]["BACKEND"]') == \
        "crm_site.staticfiles.HashedStaticFilesStorage"
    # The demo: plain names, no collectstatic needed.
    assert _setting('settings.STORAGES["staticfiles"]["BACKEND"]',
                    DJANGO_SETTINGS_MODULE="crm_site.settings.base") == \
        "whitenoise.storage.CompressedStaticFilesStorage"


def test_the_trusted_proxies_come_from_the_environment():
    assert _setting("settings.TRUSTED_PROXIES") == "[]"
    assert _setting("settings.TRUSTED_PROXIES", TRUSTED_PROXIES="172.28.0.0/16,10.0.0.2") == \
        "['172.28.0.0/16', '10.0.0.2']"
    assert _setting("settings.AXES_CLIENT_IP_CALLABLE") == "crm_site.proxies.client_ip"
