"""``core.forms.WidgetRenderer`` writes what Django's widget templates write."""

import re

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from portal.core.forms import WidgetRenderer

pytestmark = pytest.mark.django_db


class Everything(forms.Form):
    text = forms.CharField(initial='a "quoted" <b>value</b> & more', max_length=20)
    empty = forms.CharField(required=False)
    number = forms.DecimalField(initial=12.5, widget=forms.NumberInput(attrs={"step": "0.01"}))
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), initial="x")
    hidden = forms.CharField(widget=forms.HiddenInput, initial=mark_safe("<safe>"))
    agree = forms.BooleanField(initial=True, required=False)
    disagree = forms.BooleanField(initial=False, required=False)
    flag = forms.CharField(widget=forms.TextInput(attrs={"disabled": True, "hidden": False}))
    choice = forms.ChoiceField(
        choices=[("", "Any"), ("a&b", "A & B"), ("Group <1>", [("1", "One"), ("2", 2)])],
        initial="a&b",
    )
    many = forms.MultipleChoiceField(choices=[("x", "X"), ("y", "Y")], initial=["x", "y"])
    maybe = forms.NullBooleanField()
    notes = forms.CharField(widget=forms.Textarea, initial="line\n<two>")
    pick = forms.ChoiceField(choices=[("r", "R")], widget=forms.RadioSelect)


def _render(form_class, renderer, **kwargs) -> str:
    form = form_class(renderer=renderer, **kwargs)
    return "".join(str(field) for field in form)


@pytest.mark.parametrize("data", [None, {"text": "<x>", "choice": "2", "number": "abc"}])
def test_every_kind_of_widget_is_the_same_as_djangos_templates(data):
    kwargs = {} if data is None else {"data": data}
    ours = _render(Everything, WidgetRenderer(), **kwargs)
    theirs = _render(Everything, DjangoTemplates(), **kwargs)
    assert ours == theirs
    assert ours.count("<option") >= 8 and "&lt;" in ours and "<optgroup" in ours


def test_it_renders_widgets_in_python_not_templates(monkeypatch):
    """Inputs and selects never reach the template engine; other widgets still do."""
    asked = []
    original = DjangoTemplates.render

    def spy(self, template_name, context, request=None):
        asked.append(template_name)
        return original(self, template_name, context, request)

    monkeypatch.setattr(DjangoTemplates, "render", spy)
    _render(Everything, WidgetRenderer())
    assert not [name for name in asked if re.search(r"/(text|select|select_option)\.html$", name)]
    assert any(name.endswith("textarea.html") for name in asked)  # left to the templates


def _without_csrf(html: str) -> str:
    """The page without what changes on every response: CSRF tokens (forms and htmx headers),
    CSP nonces and signed cursors (their signature carries the second they were made)."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    html = re.sub(r"cursor=[^\"&]*", "cursor=", html)
    html = re.sub(r'csrftoken": "[^"]*"', "", html, flags=re.IGNORECASE)
    return re.sub(r'nonce="[^"]*"', "", html)


def test_every_page_of_the_demo_is_the_same_with_djangos_renderer(client, settings):
    """Every GET page of the demo that takes only the customer: the whole HTML (forms, filters,
    tables) with ``WidgetRenderer`` and with Django's template renderer."""
    from unittest import mock

    from django.core.management import call_command
    from django.urls import reverse

    from portal.accounts.models import User
    from tests.test_authorization_matrix import url_patterns

    call_command("demo", "--no-serve", "--password", "Demo-pass-1", stdout=mock.MagicMock())
    client.force_login(User.objects.get(email="owner@acme.test"))
    compared = widgets = 0
    for name, callback in sorted(url_patterns().items()):
        if name.startswith(("api", "staff", "admin")) or not hasattr(callback, "view_class"):
            continue
        try:
            path = reverse(name, args=["acme"])
        except Exception:
            continue
        settings.FORM_RENDERER = "portal.core.forms.WidgetRenderer"
        ours = client.get(path)
        if ours.status_code != 200 or "html" not in ours.get("Content-Type", ""):
            continue
        settings.FORM_RENDERER = "django.forms.renderers.DjangoTemplates"
        theirs = client.get(path)
        assert _without_csrf(ours.text) == _without_csrf(theirs.text), path
        compared += 1
        widgets += ours.text.count("<input") + ours.text.count("<select")
    assert compared >= 15 and widgets >= 50, (compared, widgets)
