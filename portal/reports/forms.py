from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from portal.reports.services import EMAIL_SPLIT

WEEKDAYS = [
    (0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"),
    (5, "Saturday"), (6, "Sunday"),
]  # fmt: skip
MAX_RECIPIENTS = 20


class WeeklySummaryForm(forms.Form):
    period_end = forms.DateField(
        required=False,
        label="Week ending",
        help_text="The summary covers the seven days up to this date (default today).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_period_end(self):
        value = self.cleaned_data["period_end"]
        if value and value > timezone.localdate():
            raise ValidationError("The week cannot end in the future.")
        return value


class ReportSettingsForm(forms.Form):
    weekly_enabled = forms.BooleanField(
        required=False,
        label="Generate the weekly summary",
        help_text="Every week on the weekday below (06:00 UTC).",
    )
    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, label="Weekday")
    recipients = forms.CharField(
        required=False,
        label="Report recipients",
        help_text="E-mail addresses, separated by commas or new lines (at most 20).",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    email_pdf = forms.BooleanField(
        required=False,
        label="E-mail the weekly summary PDF to the recipients",
    )

    def clean_recipients(self) -> list[str]:
        addresses = [a for a in EMAIL_SPLIT.split(self.cleaned_data["recipients"]) if a]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"{address[:80]} is not an e-mail address.") from None
        if len(addresses) > MAX_RECIPIENTS:
            raise ValidationError(f"At most {MAX_RECIPIENTS} recipients.")
        return addresses
