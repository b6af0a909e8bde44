"""Authentication events are audited from Django's and django-axes' signals."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from portal.audit.actions import Action, Outcome
from portal.audit.services import record


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    record(action=Action.LOGIN, actor=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    from portal.accounts.models import User

    username = (credentials or {}).get("username") or ""
    user = User.objects.filter(email__iexact=username).first() if username else None
    record(
        action=Action.LOGIN_FAILED,
        outcome=Outcome.FAILURE,
        actor_email=username[:254] if user is None else "",
        actor=user,
    )


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(action=Action.LOGOUT, actor=user)


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    from portal.accounts.models import User

    if not username and request is not None:
        credentials = getattr(request, "axes_credentials", None) or {}
        username = credentials.get("username") or request.POST.get("username", "")
    user = User.objects.filter(email__iexact=username or "").first()
    record(
        action=Action.LOCKED_OUT,
        outcome=Outcome.DENIED,
        actor=user,
        actor_email="" if user else (username or "")[:254],
        data={"ip": ip_address},
    )
