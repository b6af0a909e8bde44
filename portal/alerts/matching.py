"""Which drift events a rule matches, and which alerts are held back (pure: no ORM, no clock).

The services feed these functions plain rows and the current time, so every rule filter, the
cooldown and the learned noise suppression can be tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

NOISE_WINDOW = timedelta(days=30)
NOISE_VERDICTS_TO_SUPPRESS = 2


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    drift_types: frozenset[str]
    payer_ids: frozenset[int]
    cpt_groups: frozenset[str]
    min_severity: float
    direction: str  # worsening | improving | any
    cooldown: timedelta


@dataclass(frozen=True)
class EventFacts:
    id: int
    payer_id: int
    payer_name: str
    cpt_group: str
    drift_type: str
    direction: str
    severity: float


def matches(rule: RuleSpec, event: EventFacts) -> bool:
    """Every filter of the rule holds; an empty filter holds for any value."""
    return (
        (not rule.drift_types or event.drift_type in rule.drift_types)
        and (not rule.payer_ids or event.payer_id in rule.payer_ids)
        and (not rule.cpt_groups or event.cpt_group in rule.cpt_groups)
        and event.severity >= rule.min_severity
        and (rule.direction == "any" or event.direction == rule.direction)
    )


@dataclass(frozen=True)
class Decision:
    rule: RuleSpec
    event: EventFacts
    suppressed_reason: str  # "" when the alert goes out


def decide(
    *,
    rules: list[RuleSpec],
    events: list[EventFacts],
    existing: set[tuple[int, int]],
    last_sent: dict[tuple[int, int, str], datetime],
    noisy: set[tuple[int, str]],
    now: datetime,
) -> list[Decision]:
    """The alerts to create for ``events`` under ``rules``.

    1. A (rule, event) pair that already has an alert gets none: alerts are unique per pair.
    2. Learned suppression: when people called two alerts on the same (payer, drift type) noise in
       the last 30 days (``noisy``), the alert is created suppressed, with that reason.
    3. Cooldown per (rule, payer, drift type): when the rule alerted on the same payer and drift
       type less than ``cooldown`` ago (``last_sent``, or an earlier alert of this same batch), the
       alert is created suppressed until the cooldown ends. Within a batch the most severe event
       goes first, so the one that is sent is the one that matters most.
    """
    decisions = []
    sent = dict(last_sent)
    for event in sorted(events, key=lambda e: (-e.severity, e.id)):
        for rule in rules:
            if (rule.id, event.id) in existing or not matches(rule, event):
                continue
            reason = ""
            key = (rule.id, event.payer_id, event.drift_type)
            if (event.payer_id, event.drift_type) in noisy:
                reason = (
                    f"Learned suppression: {NOISE_VERDICTS_TO_SUPPRESS} or more alerts on "
                    f"{event.payer_name} · {event.drift_type} were marked noise in the last "
                    f"{NOISE_WINDOW.days} days."
                )
            elif key in sent and now - sent[key] < rule.cooldown:
                until = sent[key] + rule.cooldown
                reason = (
                    f"Cooldown: rule “{rule.name}” already alerted on {event.payer_name} · "
                    f"{event.drift_type} at {sent[key]:%Y-%m-%d %H:%M} UTC; quiet until "
                    f"{until:%Y-%m-%d %H:%M} UTC."
                )
            else:
                sent[key] = now
            decisions.append(Decision(rule=rule, event=event, suppressed_reason=reason))
    return decisions
