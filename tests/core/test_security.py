"""Security basics: CSP, CSRF, production settings, sign-in lockout and auth rate limits."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import uuid
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet
from django.core import mail
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from pasar.tenancy.models import User
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]
TOKEN_URL = "/api/v1/auth/token"
LOGIN_URL = "/login/"


def _policy(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in directives}


class _InlineCode(HTMLParser):
    """Collects the nonce of every inline <script> and <style> (None when it has none)."""

    def __init__(self) -> None:
        super().__init__()
        self.nonces: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "style" or (tag == "script" and "src" not in attributes):
            self.nonces.append(attributes.get("nonce"))


def _assert_inline_code_carries_the_nonce(response: Any) -> None:
    script_src = _policy(response)["script-src"]
    nonce = next(value for value in script_src if value.startswith("'nonce-"))[7:-1]
    parser = _InlineCode()
    parser.feed(response.content.decode())
    assert all(found == nonce for found in parser.nonces), parser.nonces


# -- content security policy ----------------------------------------------------------------


@pytest.mark.django_db
def test_pages_carry_the_strict_policy() -> None:
    response = Client().get(LOGIN_URL)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert policy["script-src"][1].startswith("'nonce-")
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    _assert_inline_code_carries_the_nonce(response)


@pytest.fixture
def staff_client(db: None) -> Client:
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    return client


@pytest.mark.parametrize(
    "url",
    ["/admin/", "/admin/tenancy/flag/", "/admin/tenancy/flag/add/", "/admin/tenancy/company/"],
)
def test_admin_works_under_the_policy(staff_client: Client, url: str) -> None:
    response = staff_client.get(url)
    assert response.status_code == 200
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    _assert_inline_code_carries_the_nonce(response)


@pytest.mark.django_db
def test_api_docs_relax_styles_only() -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    page = response.content.decode()
    assert re.search(r'<script src="/static/drf_spectacular_sidecar/redoc/[^"]+"', page)
    assert "googleapis" not in page
    assert 'spec-url="/api/schema/"' in page


# -- CSRF and production settings -----------------------------------------------------------


@pytest.mark.django_db
def test_form_post_without_csrf_token_is_refused() -> None:
    response = Client(enforce_csrf_checks=True).post(
        LOGIN_URL, {"email": "owner@kopitest.example", "password": PASSWORD}
    )
    assert response.status_code == 403


def test_deploy_check_is_clean_under_production_settings() -> None:
    env = {
        **os.environ,
        "PASAR_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "PAYMENT_CREDENTIALS_KEY": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "shop.example",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DJANGO_SETTINGS_MODULE": "pasar.settings",
    }
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests in this process, never in production.
    for name in ("DEBUG", "EMAIL_BACKEND", "SECURE_SSL_REDIRECT", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "default",
            "manage.py",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "Warning" not in output, output


def test_mail_settings_raise_no_deprecation_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mail.send_mail("Your invitation", "Join Kopi Kakis.", None, ["staff@kopikakis.example"])
    assert len(mail.outbox) == 1


# -- lockout after repeated failed sign-ins -------------------------------------------------


def _token(client: APIClient, email: str, password: str, ip: str = "203.0.113.9") -> Any:
    return client.post(
        TOKEN_URL, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip
    )


@pytest.mark.django_db
def test_token_endpoint_locks_out_after_five_wrong_passwords(owner: User, settings: Any) -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    client = APIClient()
    # Every spelling of the address counts against the one account.
    spellings = ["owner@kopitest.example", "OWNER@kopitest.example", " Owner@KopiTest.example"]
    statuses = [
        _token(client, spellings[attempt % 3].strip(), "not-the-password").status_code
        for attempt in range(5)
    ]
    assert statuses == [401, 401, 401, 401, 429]

    response = _token(client, owner.email, PASSWORD)
    assert response.status_code == 429
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "locked_out"
    assert "15 minutes" in body["error"]["message"]
    assert body["error"]["details"] == []
    assert response["Retry-After"] == "900"


@pytest.mark.django_db
def test_lockout_holds_one_account_at_one_address(owner: User) -> None:
    client = APIClient()
    for _ in range(5):
        _token(client, owner.email, "not-the-password")
    assert _token(client, owner.email, PASSWORD, ip="198.51.100.7").status_code == 200
    other = UserFactory()
    assert _token(client, other.email, PASSWORD).status_code == 200


@pytest.mark.django_db
def test_html_login_locks_out_after_five_wrong_passwords(owner: User) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [
        client.post(LOGIN_URL, {"email": owner.email, "password": "not-the-password"}).status_code
        for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]

    response = client.post(LOGIN_URL, {"email": owner.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


# -- rate limits on the auth endpoints ------------------------------------------------------


@pytest.fixture
def auth_rate_of_three(monkeypatch: pytest.MonkeyPatch) -> None:
    # DRF reads the rates once at import; the class attribute is what a throttle consults.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})


def _assert_rate_limited_after_three(owner: User) -> None:
    client = APIClient()
    # Claiming another address in X-Forwarded-For does not dodge the limit: no proxy is trusted.
    for attempt in range(3):
        response = client.post(
            TOKEN_URL,
            {"email": owner.email, "password": PASSWORD},
            format="json",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}",
        )
        assert response.status_code == 200
    response = client.post(
        TOKEN_URL,
        {"email": owner.email, "password": PASSWORD},
        format="json",
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )
    assert response.status_code == 429
    body = response.json()
    assert body["status"] == "error"
    assert body["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db
@pytest.mark.usefixtures("auth_rate_of_three")
def test_auth_endpoint_is_rate_limited(owner: User) -> None:
    _assert_rate_limited_after_three(owner)


@pytest.mark.redis
@pytest.mark.django_db
@pytest.mark.usefixtures("auth_rate_of_three")
def test_auth_rate_limit_is_kept_in_redis(owner: User, redis_url: str) -> None:
    prefix = f"test-throttle-{uuid.uuid4().hex}"
    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
        }
    }
    with override_settings(CACHES=redis_cache):
        _assert_rate_limited_after_three(owner)
    server = redis.Redis.from_url(redis_url)
    keys = list(server.scan_iter(f"{prefix}:*throttle_auth_*"))
    assert keys, "the throttle's history is not in Redis"
    server.delete(*keys)


def _settings_in(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Load the settings in a fresh interpreter with exactly these PASAR_ENV-related values."""
    clean = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PASAR_ENV", "DEBUG", "REDIS_URL", "SECRET_KEY", "ALLOWED_HOSTS"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print('DEBUG', settings.DEBUG)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "pasar.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


PRODUCTION_ENV = {
    "PASAR_ENV": "production",
    "SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "shop.example",
    "DATABASE_URL": "postgres://pasar@db.internal/pasar",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "PAYMENT_CREDENTIALS_KEY": Fernet.generate_key().decode(),
}


def test_debug_is_off_when_pasar_env_is_unset() -> None:
    result = _settings_in({})
    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout
    assert "DEBUG True" in _settings_in({"PASAR_ENV": "development"}).stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"REDIS_URL": ""}, "REDIS_URL must be set in production"),
        ({"DEBUG": "true"}, "DEBUG must be off in production"),
    ],
)
def test_production_refuses_to_start_without_redis_or_with_debug(
    change: dict[str, str], message: str
) -> None:
    result = _settings_in({**PRODUCTION_ENV, **change})
    assert result.returncode != 0
    assert message in result.stderr
    assert _settings_in(PRODUCTION_ENV).returncode == 0


def test_emailed_links_use_the_port_the_server_runs_on() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.PASAR_BASE_URL)"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "PASAR_BASE_URL"},
            "DJANGO_SETTINGS_MODULE": "pasar.settings",
            "PORT": "8202",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "http://127.0.0.1:8202", result.stderr
