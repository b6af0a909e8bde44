"""The profiling helper (``python -m portal.core.profiling``) prints time, SQL and a profile."""

import pytest

from portal.core import profiling

pytestmark = pytest.mark.django_db


def test_profiles_a_page_and_an_api_list(acme, alice, capsys):
    profiling.main(["/c/{slug}/claims/", "--slug", "acme", "--repeat", "2", "--top", "5",
                    "--queries"])  # fmt: skip
    profiling.main(["/api/v1/claims/", "--slug", "acme", "--repeat", "2", "--top", "5", "--api"])
    out = capsys.readouterr().out
    assert "=== /c/acme/claims/:" in out and "=== /api/v1/claims/:" in out
    assert "ms/request" in out and "function calls" in out
    assert "django_session" in out  # the --queries listing of the page
