"""Writes of the alerts app: rules, evaluation after runs, lifecycle and feedback (PRODUCT §5).

Exactly once: ``alerts_evaluate`` runs inside the drift run's transaction (under its per-customer
advisory lock). An alert row is inserted with ``ON CONFLICT (customer, rule, event) DO NOTHING``, so
overlapping runs cannot raise one (rule, event) twice, and a rolled-back run leaves no alert behind.
Notifications (e-mail, webhooks) are handed to the task queue only when that transaction commits.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from portal.accounts.models import Customer, User
from portal.alerts import matching
from portal.alerts.models import (
    Alert,
    AlertFeedback,
    AlertRule,
    AlertStatus,
    NotifyStatus,
    ReasonCode,
    RuleDirection,
    Verdict,
)
from portal.audit.actions import Action
from portal.audit.services import record
from portal.claims.models import Payer
from portal.core.exceptions import Conflict, DomainError, NotAllowed
from portal.core.tasks import enqueue
from portal.drift.detectors import DriftType, label_of
from portal.drift.models import DriftEvent
from portal.webhooks.models import WebhookEndpoint
from portal.webhooks.services import message_emit

log = logging.getLogger(__name__)


def _require(actor: User | None, permission: str, customer: Customer) -> None:
    if actor is not None and not actor.has_perm(f"accounts.{permission}", customer):
        raise NotAllowed("Your role at this customer does not allow this.")


# -- rules ----------------------------------------------------------------------------------------


@dataclass
class RuleFields:
    """What a person sets on a rule (the form and the API both fill this in)."""

    name: str
    enabled: bool = True
    drift_types: list[str] | None = None
    payer_ids: list[int] | None = None
    cpt_groups: list[str] | None = None
    min_severity: float = 0.0
    direction: str = RuleDirection.WORSENING
    email_recipients: list[str] | None = None
    webhook_endpoint_ids: list[int] | None = None
    cooldown_hours: int = 24


def _clean_rule(customer: Customer, fields: RuleFields) -> dict[str, Any]:
    name = " ".join((fields.name or "").split())
    if not name:
        raise DomainError("Give the rule a name.", field="name")
    if len(name) > 100:
        raise DomainError("Keep the name to 100 characters.", field="name")
    drift_types = sorted(set(fields.drift_types or []))
    unknown = set(drift_types) - {t.value for t in DriftType}
    if unknown:
        raise DomainError(f"Unknown drift type {sorted(unknown)[0]!r}.", field="drift_types")
    payer_ids = sorted(set(fields.payer_ids or []))
    if payer_ids:
        known = set(
            Payer.objects.filter(customer=customer, pk__in=payer_ids).values_list("pk", flat=True)
        )
        if missing := set(payer_ids) - known:
            raise DomainError(f"No payer with id {min(missing)} here.", field="payer_ids")
    endpoint_ids = sorted(set(fields.webhook_endpoint_ids or []))
    if endpoint_ids:
        known = set(
            WebhookEndpoint.objects.filter(customer=customer, pk__in=endpoint_ids).values_list(
                "pk", flat=True
            )
        )
        if missing := set(endpoint_ids) - known:
            raise DomainError(
                f"No webhook endpoint with id {min(missing)} here.", field="webhook_endpoint_ids"
            )
    if not 0 <= fields.min_severity <= 1:
        raise DomainError("Minimum severity is between 0 and 1.", field="min_severity")
    if fields.direction not in RuleDirection.values:
        raise DomainError(f"Unknown direction {fields.direction!r}.", field="direction")
    if not 0 <= fields.cooldown_hours <= 24 * 90:
        raise DomainError("Cooldown is between 0 and 2160 hours (90 days).", field="cooldown_hours")
    recipients = sorted({r.strip().lower() for r in fields.email_recipients or [] if r.strip()})
    return {
        "name": name,
        "enabled": fields.enabled,
        "drift_types": drift_types,
        "payer_ids": payer_ids,
        "cpt_groups": sorted({g.strip() for g in fields.cpt_groups or [] if g.strip()}),
        "min_severity": fields.min_severity,
        "direction": fields.direction,
        "email_recipients": recipients,
        "webhook_endpoint_ids": endpoint_ids,
        "cooldown_hours": fields.cooldown_hours,
    }


def _save_rule(rule: AlertRule) -> None:
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError as exc:
        if not isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
            raise
        raise Conflict(
            f"There is already a rule called “{rule.name}” (names ignore case).", field="name"
        ) from exc


def _rule_data(rule: AlertRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "drift_types": rule.drift_types,
        "payer_ids": rule.payer_ids,
        "cpt_groups": rule.cpt_groups,
        "min_severity": rule.min_severity,
        "direction": rule.direction,
        "recipients": len(rule.email_recipients),
        "webhook_endpoint_ids": rule.webhook_endpoint_ids,
        "cooldown_hours": rule.cooldown_hours,
    }


@transaction.atomic
def alert_rule_create(*, customer: Customer, actor: User | None, fields: RuleFields) -> AlertRule:
    """A new rule (admins). Its name is unique per customer, ignoring case."""
    _require(actor, "manage_alert_rules", customer)
    rule = AlertRule(
        customer=customer,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        **_clean_rule(customer, fields),
    )
    _save_rule(rule)
    record(
        action=Action.ALERT_RULE_CREATED, actor=actor, customer=customer, obj=rule,
        data=_rule_data(rule),
    )  # fmt: skip
    return rule


@transaction.atomic
def alert_rule_update(*, rule: AlertRule, actor: User | None, fields: RuleFields) -> AlertRule:
    _require(actor, "manage_alert_rules", rule.customer)
    for key, value in _clean_rule(rule.customer, fields).items():
        setattr(rule, key, value)
    _save_rule(rule)
    record(
        action=Action.ALERT_RULE_UPDATED, actor=actor, customer=rule.customer, obj=rule,
        data=_rule_data(rule),
    )  # fmt: skip
    return rule


@transaction.atomic
def alert_rule_set_enabled(*, rule: AlertRule, actor: User | None, enabled: bool) -> AlertRule:
    _require(actor, "manage_alert_rules", rule.customer)
    rule.enabled = enabled
    rule.save(update_fields=["enabled", "updated_at"])
    record(
        action=Action.ALERT_RULE_ENABLED if enabled else Action.ALERT_RULE_DISABLED,
        actor=actor, customer=rule.customer, obj=rule, data={"name": rule.name},
    )  # fmt: skip
    return rule


@transaction.atomic
def alert_rule_delete(*, rule: AlertRule, actor: User | None) -> None:
    """Delete a rule; its alerts stay (with the rule's name) so feedback and recovered dollars
    are never lost."""
    _require(actor, "manage_alert_rules", rule.customer)
    record(
        action=Action.ALERT_RULE_DELETED, actor=actor, customer=rule.customer, obj=rule,
        data={"name": rule.name},
    )  # fmt: skip
    rule.delete()


# -- evaluation -----------------------------------------------------------------------------------

_INSERT_ALERT = """
INSERT INTO alerts_alert (
    customer_id, rule_id, rule_name, event_id, payer_id, drift_type, severity, label, status,
    suppressed, suppressed_reason, notify_status, notify_attempts, notify_error,
    created_at, updated_at
)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'open', %s, %s, %s, 0, '', %s, %s)
ON CONFLICT (customer_id, rule_id, event_id) DO NOTHING
RETURNING id
"""


def _spec(rule: AlertRule) -> matching.RuleSpec:
    return matching.RuleSpec(
        id=rule.pk,
        name=rule.name,
        drift_types=frozenset(rule.drift_types),
        payer_ids=frozenset(rule.payer_ids),
        cpt_groups=frozenset(rule.cpt_groups),
        min_severity=rule.min_severity,
        direction=rule.direction,
        cooldown=timedelta(hours=rule.cooldown_hours),
    )


def _facts(e: DriftEvent) -> matching.EventFacts:
    return matching.EventFacts(
        id=e.pk, payer_id=e.payer_id, payer_name=e.payer.name, cpt_group=e.cpt_group,
        drift_type=e.drift_type, direction=e.direction, severity=e.severity,
    )  # fmt: skip


def noisy_pairs(*, customer: Customer, now: datetime) -> set[tuple[int, str]]:
    """(payer, drift type) pairs with noise verdicts on at least two alerts in the last 30 days."""
    rows = (
        AlertFeedback.objects.filter(
            customer=customer,
            verdict=Verdict.NOISE,
            updated_at__gt=now - matching.NOISE_WINDOW,
        )
        .values("alert__payer_id", "alert__drift_type")
        .annotate(alerts=Count("alert_id", distinct=True))
        .filter(alerts__gte=matching.NOISE_VERDICTS_TO_SUPPRESS)
    )
    return {(row["alert__payer_id"], row["alert__drift_type"]) for row in rows}


def alerts_evaluate(
    *, customer: Customer, event_ids: Iterable[int], now: datetime | None = None
) -> list[Alert]:
    """Raise the alerts that the enabled rules call for on these (new or changed) events.

    Call it inside the transaction that wrote the events: its alerts commit with them or not at
    all, and their notifications leave only after that commit.
    """
    now = now or timezone.now()
    event_ids = list(event_ids)
    rules = [_spec(r) for r in AlertRule.objects.filter(customer=customer, enabled=True)]
    if not rules or not event_ids:
        return []
    rows = DriftEvent.objects.filter(customer=customer, pk__in=event_ids).select_related("payer")
    events = [_facts(e) for e in rows]
    existing = set(
        Alert.objects.filter(customer=customer, event_id__in=event_ids).values_list(
            "rule_id", "event_id"
        )
    )
    last_sent = {
        (row["rule_id"], row["payer_id"], row["drift_type"]): row["last"]
        for row in Alert.objects.filter(
            customer=customer, suppressed=False, rule_id__in=[r.id for r in rules]
        )
        .values("rule_id", "payer_id", "drift_type")
        .annotate(last=Max("created_at"))
    }
    decisions = matching.decide(
        rules=rules,
        events=events,
        existing=existing,
        last_sent=last_sent,
        noisy=noisy_pairs(customer=customer, now=now),
        now=now,
    )
    created_ids = []
    with connection.cursor() as cursor:
        for d in decisions:
            suppressed = bool(d.suppressed_reason)
            cursor.execute(
                _INSERT_ALERT,
                [
                    customer.pk, d.rule.id, d.rule.name, d.event.id, d.event.payer_id,
                    d.event.drift_type, d.event.severity, label_of(d.event.severity), suppressed,
                    d.suppressed_reason,
                    NotifyStatus.SKIPPED if suppressed else NotifyStatus.PENDING, now, now,
                ],
            )  # fmt: skip
            row = cursor.fetchone()
            if row is not None:
                created_ids.append(row[0])
    alerts = list(Alert.objects.filter(pk__in=created_ids).select_related("rule", "event", "payer"))
    for alert in alerts:
        record(
            action=Action.ALERT_SUPPRESSED if alert.suppressed else Action.ALERT_TRIGGERED,
            customer=customer, obj=alert,
            data={
                "rule": alert.rule_name, "event": alert.event_id, "payer": alert.payer.name,
                "drift_type": alert.drift_type, "severity": round(alert.severity, 3),
                "reason": alert.suppressed_reason,
            },
        )  # fmt: skip
        if not alert.suppressed:
            _announce(alert, "alert.triggered")
    return alerts


def _announce(alert: Alert, event_type: str) -> None:
    """Hand the alert to its channels once this transaction commits: the e-mail task, and the
    rule's webhook endpoints (outbox rows written now, in this transaction)."""
    if event_type == "alert.triggered":
        enqueue("portal.alerts.tasks.notify", alert.pk)
    rule = alert.rule
    if rule is None or not rule.webhook_endpoint_ids:
        return
    message_emit(
        customer=alert.customer,
        event_type=event_type,
        event_key=f"alert:{alert.pk}:{event_type}",
        endpoint_ids=rule.webhook_endpoint_ids,
        data={
            "alert_id": alert.pk,
            "rule_id": rule.pk,
            "drift_event_id": alert.event_id,
            "payer_id": alert.payer_id,
            "drift_type": alert.drift_type,
            "severity": round(alert.severity, 3),
            "label": alert.label,
            "status": alert.status,
        },
    )


# -- lifecycle ------------------------------------------------------------------------------------

LIFECYCLE = {
    # action: (allowed from, to, audit action)
    "acknowledge": ({AlertStatus.OPEN}, AlertStatus.ACKNOWLEDGED, Action.ALERT_ACKNOWLEDGED),
    "resolve": ({AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED}, AlertStatus.RESOLVED,
                Action.ALERT_RESOLVED),
    "reopen": ({AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED}, AlertStatus.OPEN,
               Action.ALERT_REOPENED),
}  # fmt: skip
DONE = {"acknowledge": "acknowledged", "resolve": "resolved", "reopen": "reopened"}


def _transition(alert: Alert, action: str, actor: User | None, *, via: str = "") -> bool:
    """Move one locked alert; False when it is already where the action leads."""
    allowed_from, target, audit_action = LIFECYCLE[action]
    if alert.status == target:
        return False
    if alert.status not in allowed_from:
        article = "An" if alert.status[0] in "aeiou" else "A"
        raise Conflict(f"{article} {alert.status} alert cannot be {DONE[action]}.", field="status")
    now = timezone.now()
    who = actor if actor is not None and actor.is_authenticated else None
    previous = alert.status
    alert.status = target
    if target == AlertStatus.ACKNOWLEDGED:
        alert.acknowledged_at, alert.acknowledged_by = now, who
    elif target == AlertStatus.RESOLVED:
        alert.resolved_at, alert.resolved_by = now, who
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = now, who
    else:
        alert.resolved_at = alert.resolved_by = None
    alert.save()
    record(
        action=audit_action, actor=actor, customer=alert.customer, obj=alert,
        data={"from": previous, "to": target, **({"via": via} if via else {})},
    )  # fmt: skip
    if target == AlertStatus.RESOLVED and not alert.suppressed:
        _announce(alert, "alert.resolved")
    if action == "reopen" and not alert.suppressed and not _needs_followup(alert):
        # A reopened alert is news again — unless someone said it needs follow-up: then the
        # people on it already know, and it is never re-sent.
        Alert.objects.filter(pk=alert.pk).update(notify_status=NotifyStatus.PENDING)
        enqueue("portal.alerts.tasks.notify", alert.pk)
    return True


def _needs_followup(alert: Alert) -> bool:
    return AlertFeedback.objects.filter(
        customer_id=alert.customer_id, alert=alert, verdict=Verdict.NEEDS_FOLLOWUP
    ).exists()


def _locked(customer: Customer, pks: Iterable[int]) -> list[Alert]:
    return list(
        # of=("self",): the rule is a nullable (outer) join, which FOR UPDATE cannot lock
        Alert.objects.select_for_update(of=("self",))
        .filter(customer=customer, pk__in=list(pks))
        .select_related("rule", "customer")
        .order_by("pk")
    )


@transaction.atomic
def alert_change_status(*, alert: Alert, actor: User | None, action: str) -> Alert:
    """Acknowledge, resolve or reopen one alert (analysts and up); audited."""
    if action not in LIFECYCLE:
        raise DomainError(f"Unknown action {action!r}.", field="action")
    _require(actor, "give_feedback", alert.customer)
    (locked,) = _locked(alert.customer, [alert.pk])
    _transition(locked, action, actor)
    return locked


@transaction.atomic
def alerts_bulk_change_status(
    *, customer: Customer, actor: User | None, pks: Iterable[int], action: str
) -> int:
    """Acknowledge or resolve many alerts; alerts already there, or that cannot move, are
    skipped. Returns how many changed."""
    if action not in ("acknowledge", "resolve"):
        raise DomainError("Bulk actions are acknowledge and resolve.", field="action")
    _require(actor, "give_feedback", customer)
    changed = 0
    allowed_from = LIFECYCLE[action][0]
    for alert in _locked(customer, pks):
        if alert.status in allowed_from:
            changed += _transition(alert, action, actor, via="bulk")
    return changed


# -- feedback -------------------------------------------------------------------------------------


@dataclass
class FeedbackFields:
    verdict: str
    reason_codes: list[str] | None = None
    notes: str = ""
    recovered_amount: Decimal | None = None
    recovered_on: date | None = None


@transaction.atomic
def feedback_save(*, alert: Alert, actor: User, fields: FeedbackFields) -> AlertFeedback:
    """Record or change ``actor``'s verdict on ``alert`` (analysts and up); one per person.

    ``real`` acknowledges an open alert, ``noise`` resolves it, ``needs_followup`` keeps it
    open (a resolved alert is reopened, silently) and stops any further notification.
    """
    _require(actor, "give_feedback", alert.customer)
    if fields.verdict not in Verdict.values:
        raise DomainError(f"Unknown verdict {fields.verdict!r}.", field="verdict")
    codes = sorted(set(fields.reason_codes or []))
    if unknown := set(codes) - set(ReasonCode.values):
        raise DomainError(f"Unknown reason code {sorted(unknown)[0]!r}.", field="reason_codes")
    amount = fields.recovered_amount
    if amount is not None and amount < 0:
        raise DomainError("A recovered amount cannot be negative.", field="recovered_amount")
    recovered_on = fields.recovered_on
    if amount is not None and recovered_on is None:
        recovered_on = timezone.localdate()
    if recovered_on is not None and amount is None:
        raise DomainError("Give the amount recovered on that date.", field="recovered_amount")
    if recovered_on is not None and recovered_on > timezone.localdate():
        raise DomainError("The recovery date cannot be in the future.", field="recovered_on")
    (locked,) = _locked(alert.customer, [alert.pk])
    feedback, created = AlertFeedback.objects.update_or_create(
        customer=alert.customer,
        alert=locked,
        user=actor,
        defaults={
            "verdict": fields.verdict,
            "reason_codes": codes,
            "notes": (fields.notes or "").strip()[:4000],
            "recovered_amount": amount,
            "recovered_on": recovered_on,
        },
    )
    record(
        action=Action.ALERT_FEEDBACK_GIVEN if created else Action.ALERT_FEEDBACK_CHANGED,
        actor=actor, customer=alert.customer, obj=locked,
        data={
            "verdict": fields.verdict, "reason_codes": codes,
            "recovered_amount": str(amount) if amount is not None else None,
        },
    )  # fmt: skip
    if fields.verdict == Verdict.REAL and locked.status == AlertStatus.OPEN:
        _transition(locked, "acknowledge", actor, via="feedback")
    elif fields.verdict == Verdict.NOISE and locked.status != AlertStatus.RESOLVED:
        _transition(locked, "resolve", actor, via="feedback")
    elif fields.verdict == Verdict.NEEDS_FOLLOWUP and locked.status == AlertStatus.RESOLVED:
        _transition(locked, "reopen", actor, via="feedback")
    alert.refresh_from_db()
    return feedback
