from __future__ import annotations

from django import forms

from portal.drift.models import DetectionSettings


class RunRequestForm(forms.Form):
    as_of = forms.DateField(
        required=False,
        label="As of",
        help_text="Leave empty for today.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class DetectionSettingsForm(forms.ModelForm):
    """The ranges repeat the model's check constraint, so a bad value is a form error, not a 500."""

    current_days = forms.IntegerField(
        min_value=7, max_value=60, label="Current window (days)", help_text="7 to 60 days."
    )
    baseline_days = forms.IntegerField(
        min_value=28, max_value=365, label="Baseline window (days)", help_text="28 to 365 days."
    )
    min_volume = forms.IntegerField(
        min_value=10,
        label="Minimum volume",
        help_text="Decided claims a segment needs in each window to be examined (10 or more).",
    )

    class Meta:
        model = DetectionSettings
        fields = ["current_days", "baseline_days", "min_volume"]
