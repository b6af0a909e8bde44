from __future__ import annotations

from django import forms

from portal.webhooks.models import EventType


class EndpointForm(forms.Form):
    """The service validates (name taken, URL refused) and its errors land on these fields."""

    name = forms.CharField(max_length=100)
    url = forms.CharField(
        max_length=2000,
        label="URL",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/payerwatch"}),
        help_text="http:// or https://, a public address; we POST signed JSON to it.",
    )
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        help_text="None ticked: every event.",
    )
