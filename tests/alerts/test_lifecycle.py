"""The alert lifecycle (open → acknowledged → resolved, reopen), feedback (one per person,
editable, its verdict's effect on the status and on notifications), and recovered totals."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from portal.alerts import selectors, services
from portal.alerts.models import AlertFeedback, AlertStatus, NotifyStatus
from portal.audit.actions import Action
from portal.audit.models import AuditEvent
from portal.core.exceptions import Conflict, DomainError, NotAllowed

pytestmark = pytest.mark.django_db


def move(alert, action, actor):
    return services.alert_change_status(alert=alert, actor=actor, action=action)


def give(alert, actor, verdict, **fields):
    return services.feedback_save(
        alert=alert, actor=actor, fields=services.FeedbackFields(verdict, **fields)
    )


def test_open_acknowledged_resolved_and_reopened_with_who_and_when(acme, analyst, raise_alert):
    alert = raise_alert()
    acked = move(alert, "acknowledge", analyst)
    assert (acked.status, acked.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, analyst)
    assert acked.acknowledged_at is not None and selectors.open_alert_count(customer=acme) == 1
    resolved = move(alert, "resolve", analyst)
    assert (resolved.status, resolved.resolved_by) == (AlertStatus.RESOLVED, analyst)
    assert selectors.open_alert_count(customer=acme) == 0
    reopened = move(alert, "reopen", analyst)
    assert (reopened.status, reopened.resolved_at, reopened.resolved_by) == ("open", None, None)
    audited = AuditEvent.objects.filter(object_id=str(alert.pk), actor=analyst).order_by("id")
    assert [(e.action, e.data["from"], e.data["to"]) for e in audited] == [
        (Action.ALERT_ACKNOWLEDGED, "open", "acknowledged"),
        (Action.ALERT_RESOLVED, "acknowledged", "resolved"),
        (Action.ALERT_REOPENED, "resolved", "open"),
    ]


def test_resolving_an_open_alert_also_marks_it_acknowledged(acme, analyst, raise_alert):
    resolved = move(raise_alert(), "resolve", analyst)
    assert resolved.acknowledged_at == resolved.resolved_at and resolved.acknowledged_by == analyst


def test_a_resolved_alert_cannot_be_acknowledged(acme, analyst, raise_alert):
    alert = raise_alert()
    move(alert, "resolve", analyst)
    with pytest.raises(Conflict, match=r"A resolved alert cannot be acknowledged\.") as refused:
        move(alert, "acknowledge", analyst)
    assert refused.value.field == "status"
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert not AuditEvent.objects.filter(action=Action.ALERT_ACKNOWLEDGED).exists()


def test_a_move_to_where_the_alert_already_is_changes_nothing(acme, analyst, raise_alert):
    alert = raise_alert()
    move(alert, "reopen", analyst)  # already open
    assert not AuditEvent.objects.filter(action=Action.ALERT_REOPENED).exists()


def test_an_unknown_action_is_a_domain_error(acme, analyst, raise_alert):
    with pytest.raises(DomainError, match="Unknown action 'close'"):
        move(raise_alert(), "close", analyst)
    with pytest.raises(DomainError, match="Bulk actions are acknowledge and resolve"):
        services.alerts_bulk_change_status(customer=acme, actor=analyst, pks=[1], action="reopen")


def test_viewer_can_neither_move_nor_give_feedback(acme, bob, raise_alert):
    alert = raise_alert()
    with pytest.raises(NotAllowed):
        move(alert, "acknowledge", bob)
    with pytest.raises(NotAllowed):
        give(alert, bob, "noise")
    alert.refresh_from_db()
    assert alert.status == "open" and not AlertFeedback.objects.exists()


def test_bulk_change_skips_what_cannot_move_and_other_customers(acme, globex, analyst, raise_alert):
    first, second, done = raise_alert(), raise_alert(), raise_alert()
    move(done, "resolve", analyst)
    changed = services.alerts_bulk_change_status(
        customer=globex, actor=None, pks=[first.pk], action="resolve"
    )
    assert changed == 0  # Acme's alert is not Globex's to change
    changed = services.alerts_bulk_change_status(
        customer=acme, actor=analyst, pks=[first.pk, second.pk, done.pk], action="acknowledge"
    )
    assert changed == 2
    first.refresh_from_db()
    done.refresh_from_db()
    assert first.status == "acknowledged" and done.status == "resolved"


# -- feedback -------------------------------------------------------------------------------------


def test_feedback_is_one_per_person_and_editable(acme, alice, analyst, raise_alert):
    alert = raise_alert()
    first = give(alert, analyst, "needs_followup", reason_codes=["coding", "coding"], notes=" x ")
    changed = give(alert, analyst, "real", notes="Policy change")
    assert changed.pk == first.pk and (changed.verdict, changed.notes) == ("real", "Policy change")
    assert first.reason_codes == ["coding"] and first.notes == "x"
    give(alert, alice, "noise")
    assert AlertFeedback.objects.filter(alert=alert).count() == 2
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="alert.feedback")
            .order_by("id")] == [Action.ALERT_FEEDBACK_GIVEN, Action.ALERT_FEEDBACK_CHANGED,
                                 Action.ALERT_FEEDBACK_GIVEN]  # fmt: skip


def test_real_acknowledges_and_noise_resolves(acme, analyst, raise_alert):
    real, noisy = raise_alert(), raise_alert()
    give(real, analyst, "real")
    give(noisy, analyst, "noise")
    real.refresh_from_db()
    noisy.refresh_from_db()
    assert (real.status, noisy.status) == ("acknowledged", "resolved")
    via = AuditEvent.objects.filter(action=Action.ALERT_RESOLVED).get().data["via"]
    assert via == "feedback"


def test_needs_followup_keeps_it_open_and_a_reopen_sends_no_mail(
    acme, analyst, raise_alert, django_capture_on_commit_callbacks
):
    alert = raise_alert()
    assert len(mail.outbox) == 1  # the alert itself
    with django_capture_on_commit_callbacks(execute=True):
        give(alert, analyst, "needs_followup")
    alert.refresh_from_db()
    assert alert.status == "open"
    with django_capture_on_commit_callbacks(execute=True):
        move(alert, "resolve", analyst)
        move(alert, "reopen", analyst)
    assert len(mail.outbox) == 1  # never re-sent
    alert.refresh_from_db()
    assert alert.status == "open" and alert.notify_status == NotifyStatus.SENT


def test_needs_followup_on_a_resolved_alert_reopens_it_silently(
    acme, analyst, raise_alert, django_capture_on_commit_callbacks
):
    alert = raise_alert()
    with django_capture_on_commit_callbacks(execute=True):
        give(alert, analyst, "noise")
        give(alert, analyst, "needs_followup")
    alert.refresh_from_db()
    assert alert.status == "open" and len(mail.outbox) == 1


def test_a_reopened_alert_without_followup_is_sent_again(
    acme, analyst, raise_alert, django_capture_on_commit_callbacks
):
    alert = raise_alert()
    with django_capture_on_commit_callbacks(execute=True):
        move(alert, "resolve", analyst)
        move(alert, "reopen", analyst)
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"verdict": "maybe"}, "verdict", "Unknown verdict 'maybe'."),
        ({"verdict": "real", "reason_codes": ["nope"]}, "reason_codes", "Unknown reason code"),
        ({"verdict": "real", "recovered_amount": Decimal("-1")}, "recovered_amount", "negative"),
        ({"verdict": "real", "recovered_on": date(2026, 1, 1)}, "recovered_amount", "Give the"),
        ({"verdict": "real", "recovered_amount": Decimal(1), "recovered_on": date(2999, 1, 1)},
         "recovered_on", "future"),
    ],
)  # fmt: skip
def test_bad_feedback_is_refused_with_its_field(acme, analyst, raise_alert, fields, field, message):
    with pytest.raises(DomainError, match=message) as refused:
        services.feedback_save(
            alert=raise_alert(), actor=analyst, fields=services.FeedbackFields(**fields)
        )
    assert refused.value.field == field
    assert not AlertFeedback.objects.exists()


def test_an_amount_without_a_date_is_recovered_today(acme, analyst, raise_alert):
    from django.utils import timezone

    saved = give(raise_alert(), analyst, "real", recovered_amount=Decimal("99.99"))
    assert saved.recovered_on == timezone.localdate()


def test_recovered_totals_by_period(acme, alice, analyst, bob, raise_alert):
    from tests.factories import member

    today = date(2026, 7, 10)
    rows = [
        (Decimal("100.00"), date(2026, 6, 15)),  # the last 30 days, not this month
        (Decimal("40.00"), date(2026, 7, 1)),  # this month and the last 30 days
        (Decimal("7.50"), date(2026, 6, 10)),  # 30 days ago: all time only
        (Decimal("1000.00"), date(2025, 12, 24)),  # all time only
    ]
    users = [alice, analyst, bob, member(acme, email="x@acme.test")]
    alert = raise_alert()
    for user, (amount, day) in zip(users, rows, strict=True):
        AlertFeedback.objects.create(
            customer=acme, alert=alert, user=user, verdict="real",
            recovered_amount=amount, recovered_on=day,
        )  # fmt: skip
    totals = selectors.recovered_totals(customer=acme, today=today)
    assert totals.this_month == Decimal("40.00")
    assert totals.last_30_days == Decimal("140.00")
    assert totals.all_time == Decimal("1147.50")
    empty = selectors.recovered_totals(customer=acme, today=date(2020, 1, 1))
    assert (empty.this_month, empty.last_30_days) == (Decimal("0.00"), Decimal("0.00"))
