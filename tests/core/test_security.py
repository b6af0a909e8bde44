"""The security baseline: CSP without inline scripts or eval, production settings, no CDN."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
pytestmark = pytest.mark.django_db


def csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_carry_a_csp_without_inline_scripts_or_eval(client, alice):
    client.force_login(alice)
    response = client.get("/c/acme/")
    policy = csp(response)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    html = response.content.decode()
    # every script tag is external, and carries this response's nonce
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all("src=" in tag and f'nonce="{nonce}"' in tag for tag in scripts)
    assert "<script>" not in html


def test_no_page_links_to_another_origin(client, alice):
    client.force_login(alice)
    for url in ["/c/acme/", "/api/docs/", "/api/redoc/", "/accounts/login/"]:
        html = client.get(url).content.decode()
        assert not re.search(r"(src|href)=\"https?://", html), url


def test_swagger_ui_init_script_is_served_from_our_origin(client):
    page = client.get("/api/docs/").content.decode()
    src = re.search(r'<script src="([^"]*script=[^"]*)"', page).group(1)
    script = client.get(src.replace("&amp;", "&"))
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"] and "SwaggerUIBundle" in script.content.decode()


def test_check_deploy_is_clean_with_production_settings():
    env = {
        # the browser tests' conftest allows async-unsafe ORM calls; production never does
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DEBUG": "false",
        "SECRET_KEY": "kq3#Zt8@wP1%rL6^mN4&vB7*xC2(yD5)eF9_gH0-jKs8!uR2$tQ7=zW4+",
        "EMAIL_HOST": "smtp.payerwatch.example",
        "ALLOWED_HOSTS": "payerwatch.example",
        "HTTPS": "true",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "")
        or "postgres://postgres@127.0.0.1:5432/payerwatch",
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_are_strict_over_https():
    env = {**os.environ, "HTTPS": "true", "DEBUG": "false"}
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_REFERRER_POLICY)"
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stdout.split()[-5:] == ["True", "True", "True", "31536000", "same-origin"]
