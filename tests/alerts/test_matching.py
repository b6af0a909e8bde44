"""Rule matching, cooldown and learned suppression as pure functions (no database, no clock)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from portal.alerts.matching import EventFacts, RuleSpec, decide, matches

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
ANY = RuleSpec(
    id=1, name="Any", drift_types=frozenset(), payer_ids=frozenset(), cpt_groups=frozenset(),
    min_severity=0.0, direction="any", cooldown=timedelta(hours=24),
)  # fmt: skip
EVENT = EventFacts(
    id=10, payer_id=5, payer_name="Humana", cpt_group="E/M", drift_type="denial_rate",
    direction="worsening", severity=0.7,
)  # fmt: skip


def test_an_empty_rule_matches_any_event():
    assert matches(ANY, EVENT)
    assert matches(ANY, replace(EVENT, direction="improving", drift_type="decision_time"))


@pytest.mark.parametrize(
    ("rule_changes", "event_changes", "expected"),
    [
        ({"drift_types": frozenset({"denial_rate"})}, {}, True),
        ({"drift_types": frozenset({"decision_time"})}, {}, False),
        ({"payer_ids": frozenset({5, 6})}, {}, True),
        ({"payer_ids": frozenset({6})}, {}, False),
        ({"cpt_groups": frozenset({"E/M"})}, {}, True),
        ({"cpt_groups": frozenset({"Surgery"})}, {}, False),
        ({"cpt_groups": frozenset({"ALL"})}, {"cpt_group": "ALL"}, True),
        ({"min_severity": 0.7}, {}, True),  # the minimum itself is enough
        ({"min_severity": 0.71}, {}, False),
        ({"direction": "worsening"}, {}, True),
        ({"direction": "worsening"}, {"direction": "improving"}, False),
        ({"direction": "improving"}, {"direction": "improving"}, True),
        ({"direction": "improving"}, {}, False),
        ({"direction": "any"}, {"direction": "improving"}, True),
    ],
)
def test_each_filter_of_a_rule(rule_changes, event_changes, expected):
    assert matches(replace(ANY, **rule_changes), replace(EVENT, **event_changes)) is expected


def test_every_filter_must_hold_at_once():
    rule = replace(ANY, drift_types=frozenset({"denial_rate"}), payer_ids=frozenset({5}))
    assert matches(rule, EVENT)
    assert not matches(rule, replace(EVENT, payer_id=6))
    assert not matches(rule, replace(EVENT, drift_type="payment_amount"))


def test_an_existing_rule_event_pair_gets_no_second_alert():
    assert decide(rules=[ANY], events=[EVENT], existing={(1, 10)}, last_sent={}, noisy=set(),
                  now=NOW) == []  # fmt: skip


def test_cooldown_holds_back_the_same_payer_and_type_until_it_ends():
    sent = {(1, 5, "denial_rate"): NOW - timedelta(hours=23)}
    (held,) = decide(rules=[ANY], events=[EVENT], existing=set(), last_sent=sent, noisy=set(),
                     now=NOW)  # fmt: skip
    assert held.suppressed_reason.startswith("Cooldown: rule “Any” already alerted on Humana")
    assert "quiet until 2026-06-30 13:00 UTC" in held.suppressed_reason
    later = {(1, 5, "denial_rate"): NOW - timedelta(hours=24)}
    (sent_again,) = decide(rules=[ANY], events=[EVENT], existing=set(), last_sent=later,
                           noisy=set(), now=NOW)  # fmt: skip
    assert sent_again.suppressed_reason == ""


def test_cooldown_is_per_rule_payer_and_drift_type():
    sent = {(1, 5, "denial_rate"): NOW - timedelta(hours=1)}
    other_payer = replace(EVENT, id=11, payer_id=6, payer_name="Cigna")
    other_type = replace(EVENT, id=12, drift_type="decision_time")
    other_rule = replace(ANY, id=2, name="Other")
    decisions = decide(rules=[ANY, other_rule], events=[other_payer, other_type, EVENT],
                       existing=set(), last_sent=sent, noisy=set(), now=NOW)  # fmt: skip
    reasons = {(d.rule.id, d.event.id): d.suppressed_reason for d in decisions}
    assert reasons[(1, 10)].startswith("Cooldown")
    assert reasons[(1, 11)] == reasons[(1, 12)] == reasons[(2, 10)] == ""


def test_within_one_batch_the_most_severe_event_is_sent_and_the_rest_wait():
    mild = replace(EVENT, id=20, cpt_group="Surgery", severity=0.5)
    strong = replace(EVENT, id=21, cpt_group="Radiology", severity=0.9)
    decisions = decide(rules=[ANY], events=[mild, strong], existing=set(), last_sent={},
                       noisy=set(), now=NOW)  # fmt: skip
    assert [(d.event.id, bool(d.suppressed_reason)) for d in decisions] == [(21, False), (20, True)]


def test_a_zero_cooldown_never_holds_back():
    rule = replace(ANY, cooldown=timedelta(0))
    sent = {(1, 5, "denial_rate"): NOW}
    (decision,) = decide(rules=[rule], events=[EVENT], existing=set(), last_sent=sent,
                         noisy=set(), now=NOW)  # fmt: skip
    assert decision.suppressed_reason == ""


def test_learned_noise_suppresses_the_payer_and_type_with_its_reason():
    (decision,) = decide(rules=[ANY], events=[EVENT], existing=set(), last_sent={},
                         noisy={(5, "denial_rate")}, now=NOW)  # fmt: skip
    assert decision.suppressed_reason == (
        "Learned suppression: 2 or more alerts on Humana · denial_rate were marked noise in the "
        "last 30 days."
    )
    other_type = replace(EVENT, drift_type="decision_time")
    (other,) = decide(rules=[ANY], events=[other_type], existing=set(), last_sent={},
                      noisy={(5, "denial_rate")}, now=NOW)  # fmt: skip
    assert other.suppressed_reason == ""
