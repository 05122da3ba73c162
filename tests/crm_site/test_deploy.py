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
    # An empty env file: an operator's .env in the checkout must not fill the gap.
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return subprocess.run([*_compose_command(), "--env-file", str(empty), "config"], env=env,
                          capture_output=True, text=True, cwd=settings.BASE_DIR, check=False)


@needs_compose
def test_compose_refuses_to_start_without_a_secret_key(tmp_path):
    result = _compose_config(tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@needs_compose
def test_compose_publishes_ports_on_the_loopback_only(tmp_path):
    import yaml

    result = _compose_config(tmp_path, DJANGO_SECRET_KEY=PRODUCTION["DJANGO_SECRET_KEY"])
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    for name in ("web", "db", "redis"):
        ports = services[name]["ports"]
        assert ports
        for port in ports:
            host_ip = port["host_ip"] if isinstance(port, dict) else port.split(":")[0]
            assert host_ip == "127.0.0.1", (name, port)
    assert services["web"]["environment"]["DJANGO_TRUST_X_FORWARDED_PROTO"] == "false"
