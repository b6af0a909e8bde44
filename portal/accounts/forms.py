from django import forms

from portal.accounts.roles import Role


class MemberAddForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class CustomerCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=50, help_text="Lowercase letters, digits and hyphens.")
    owner_email = forms.EmailField(label="Owner's e-mail")


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “BI export”.")
    scope = forms.ChoiceField(
        choices=[("read", "Read"), ("write", "Read and write")], initial="read"
    )
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Expires in (days)",
        help_text="Leave empty for a token that lives until revoked.",
    )
