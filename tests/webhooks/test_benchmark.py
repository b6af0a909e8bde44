"""``manage.py benchmark webhooks``: a small run delivers everything, every request verified."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_benchmark_webhooks_delivers_every_message_verified():
    out = StringIO()
    call_command("benchmark", "webhooks", "--messages", "30", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["delivered"] == result["verified_by_receiver"] == 30
    assert result["rejected_by_receiver"] == 0 and result["messages_per_second"] > 0
