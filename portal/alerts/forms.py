"""Forms of the alerts pages: a rule (create and edit), feedback on an alert, bulk status changes.

The forms only parse what people type; the rules of the product (unique names, known payers and
endpoints, verdict side effects) live in ``portal.alerts.services``, which both the portal and the
API call.
"""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from portal.accounts.models import Customer
from portal.alerts.models import AlertRule, ReasonCode, RuleDirection, Verdict
from portal.alerts.services import FeedbackFields, RuleFields
from portal.claims import selectors as claim_selectors
from portal.drift.detectors import DriftType
from portal.webhooks import selectors as webhook_selectors

MAX_RECIPIENTS = 50
_SEPARATORS = re.compile(r"[\s,;]+")


class RecipientsField(forms.CharField):
    """E-mail addresses separated by commas, semicolons, spaces or new lines."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value) -> list[str]:
        text = super().to_python(value) or ""
        return [address for address in _SEPARATORS.split(text) if address]

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        bad = []
        for address in value:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(
                "Not an e-mail address: %(bad)s", params={"bad": ", ".join(bad[:5])}, code="invalid"
            )
        if len(value) > MAX_RECIPIENTS:
            raise ValidationError(f"At most {MAX_RECIPIENTS} recipients.", code="invalid")

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value


class AlertRuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    enabled = forms.BooleanField(required=False, initial=True)
    drift_types = forms.MultipleChoiceField(
        choices=[(t.value, t.value.replace("_", " ")) for t in DriftType],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Drift types",
        help_text="None ticked: every drift type.",
    )
    payer_ids = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="Payers",
        help_text="None chosen: every payer.",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    cpt_groups = forms.MultipleChoiceField(
        required=False,
        label="CPT groups",
        help_text="None chosen: every CPT group, and the payer-wide events (ALL).",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    min_severity = forms.FloatField(
        min_value=0,
        max_value=1,
        initial=0.0,
        label="Minimum severity",
        help_text="0 to 1: low from 0, medium from 0.4, high from 0.65, critical from 0.85.",
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )
    direction = forms.ChoiceField(choices=RuleDirection.choices, initial=RuleDirection.WORSENING)
    email_recipients = RecipientsField(
        required=False,
        label="E-mail recipients",
        help_text="Separated by commas or new lines.",
    )
    webhook_endpoint_ids = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="Webhook endpoints",
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    cooldown_hours = forms.IntegerField(
        min_value=0,
        max_value=24 * 90,
        initial=24,
        label="Cooldown (hours)",
        help_text="After an alert on a payer and drift type, further ones are held back this long.",
    )

    def __init__(self, *args, customer: Customer, rule: AlertRule | None = None, **kwargs):
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": rule.name,
                "enabled": rule.enabled,
                "drift_types": rule.drift_types,
                "payer_ids": rule.payer_ids,
                "cpt_groups": rule.cpt_groups,
                "min_severity": rule.min_severity,
                "direction": rule.direction,
                "email_recipients": rule.email_recipients,
                "webhook_endpoint_ids": rule.webhook_endpoint_ids,
                "cooldown_hours": rule.cooldown_hours,
            }
        super().__init__(*args, **kwargs)
        payers = claim_selectors.payer_list(customer=customer).values_list("pk", "name")
        self.fields["payer_ids"].choices = list(payers)
        groups = claim_selectors.cpt_group_names(customer=customer)
        kept = rule.cpt_groups if rule is not None else []  # a group no claim has any more
        self.fields["cpt_groups"].choices = [(g, g) for g in sorted({*groups, *kept, "ALL"})]
        endpoints = list(
            webhook_selectors.endpoint_list(customer=customer).values_list("pk", "name")
        )
        if endpoints:
            self.fields["webhook_endpoint_ids"].choices = endpoints
        else:
            # Nothing to choose: no empty list box; the page says where endpoints are added.
            del self.fields["webhook_endpoint_ids"]
        self.suggest_endpoints = not endpoints

    def to_fields(self) -> RuleFields:
        data = self.cleaned_data
        return RuleFields(
            name=data["name"],
            enabled=data["enabled"],
            drift_types=data["drift_types"],
            payer_ids=data["payer_ids"],
            cpt_groups=data["cpt_groups"],
            min_severity=data["min_severity"],
            direction=data["direction"],
            email_recipients=data["email_recipients"],
            webhook_endpoint_ids=data.get("webhook_endpoint_ids") or [],
            cooldown_hours=data["cooldown_hours"],
        )


class FeedbackForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices, widget=forms.RadioSelect)
    reason_codes = forms.MultipleChoiceField(
        choices=ReasonCode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Reasons",
    )
    notes = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3})
    )
    recovered_amount = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        label="Recovered ($)",
        help_text="Dollars won back thanks to this alert, if any.",
    )
    recovered_on = forms.DateField(
        required=False,
        label="Recovered on",
        help_text="Defaults to today when an amount is given.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    @classmethod
    def for_feedback(cls, feedback) -> FeedbackForm:
        """The form prefilled with the person's own earlier feedback (if any)."""
        if feedback is None:
            return cls()
        return cls(
            initial={
                "verdict": feedback.verdict,
                "reason_codes": feedback.reason_codes,
                "notes": feedback.notes,
                "recovered_amount": feedback.recovered_amount,
                "recovered_on": feedback.recovered_on,
            }
        )

    def to_fields(self) -> FeedbackFields:
        return FeedbackFields(**self.cleaned_data)


class BulkStatusForm(forms.Form):
    """Acknowledge or resolve the ticked alerts (``alert`` values are their ids)."""

    action = forms.ChoiceField(choices=[("acknowledge", "Acknowledge"), ("resolve", "Resolve")])
    alert = forms.TypedMultipleChoiceField(coerce=int, required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any ids are accepted here; the service only touches the customer's own alerts.
        ids = self.data.getlist("alert") if hasattr(self.data, "getlist") else []
        ids = [v for v in ids if str(v).isdigit() and len(str(v)) < 19]  # a bigint at most
        self.fields["alert"].choices = [(v, v) for v in ids]
        self.fields["alert"].error_messages["required"] = "Tick at least one alert."
