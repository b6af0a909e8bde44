"""Realistic synthetic claims files, for the demo, the benchmark and tests. Pure code, no ORM.

Stationary by default, with real adjudication lag: denials are decided faster than payments,
and claims submitted in the last weeks are often still PENDING. ``drifts`` plants changes of
behaviour from a given date on (a payer denying more, deciding slower, paying less, or using a
new denial reason), so the detection can be shown and tested against known truth.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

COLUMNS = [
    "claim_id", "payer", "cpt", "submitted_date", "decided_date", "outcome", "billed_amount",
    "allowed_amount", "paid_amount", "denial_reason_code", "denial_reason_text", "payment_date",
]  # fmt: skip

PAYERS = {  # name: base denial rate
    "Aetna": 0.08,
    "Blue Cross Blue Shield": 0.10,
    "Cigna": 0.09,
    "Humana": 0.12,
    "Medicare": 0.06,
    "Medicaid": 0.14,
    "UnitedHealthcare": 0.11,
    "Kaiser Permanente": 0.07,
}
CPTS = {  # code: typical allowed amount
    "99213": 92.0, "99214": 131.0, "99203": 110.0, "99204": 167.0, "99215": 184.0,
    "80053": 14.0, "85025": 10.5, "36415": 3.0, "71046": 31.0, "73030": 30.0,
    "93000": 17.0, "90471": 25.0, "20610": 58.0, "11042": 120.0, "J1100": 4.5,
    "G0439": 129.0, "97110": 29.0, "00840": 480.0, "0001U": 300.0, "3074F": 0.0,
}  # fmt: skip
REASONS = [
    ("CO-97", "Service included in another service"),
    ("CO-16", "Claim lacks information needed for adjudication"),
    ("CO-18", "Exact duplicate claim"),
    ("CO-50", "Not deemed a medical necessity"),
    ("CO-29", "Time limit for filing has expired"),
    ("PR-204", "Service not covered under the patient's benefit plan"),
]


@dataclass(frozen=True)
class Drift:
    """From ``start`` on, ``payer`` behaves differently (only the fields that are set)."""

    payer: str
    start: date
    denial_rate: float | None = None
    extra_decision_days: int = 0
    allowed_factor: float = 1.0
    new_reason: tuple[str, str] | None = None


@dataclass
class ClaimsSpec:
    rows: int = 10_000
    end: date = field(default_factory=date.today)
    days: int = 180
    seed: int = 7
    with_claim_id: bool = True
    drifts: list[Drift] = field(default_factory=list)
    payers: dict[str, float] = field(default_factory=lambda: dict(PAYERS))
    # relative volume per payer; None: the three big payers 3, the others 2
    volumes: dict[str, int] | None = None


def generate_rows(spec: ClaimsSpec) -> Iterator[list[str]]:
    """Rows (strings) in ``COLUMNS`` order, oldest submissions first."""
    rng = random.Random(spec.seed)
    payers = list(spec.payers)
    weights = [
        3 if p in ("Medicare", "UnitedHealthcare", "Blue Cross Blue Shield") else 2 for p in payers
    ]
    if spec.volumes is not None:
        weights = [spec.volumes.get(p, 2) for p in payers]
    cpts = list(CPTS)
    start = spec.end - timedelta(days=spec.days)
    per_day = spec.rows / spec.days
    emitted = 0
    for day_index in range(spec.days + 1):
        submitted = start + timedelta(days=day_index)
        count = int(per_day * (day_index + 1)) - int(per_day * day_index)
        if day_index == spec.days:
            count = spec.rows - emitted
        for _ in range(count):
            emitted += 1
            payer = rng.choices(payers, weights)[0]
            yield _claim(rng, spec, emitted, payer, rng.choice(cpts), submitted)


def _claim(rng: random.Random, spec: ClaimsSpec, n: int, payer: str, cpt: str, submitted: date):
    drift = next((d for d in spec.drifts if d.payer == payer and submitted >= d.start), None)
    denial_rate = spec.payers[payer]
    if drift and drift.denial_rate is not None:
        denial_rate = drift.denial_rate
    denied = rng.random() < denial_rate
    # adjudication lag: denials come back in about a week, payments in about three
    lag = max(1, int(rng.gammavariate(3.0, 2.5 if denied else 7.0)))
    if drift:
        lag += drift.extra_decision_days
    decided = submitted + timedelta(days=lag)
    base = CPTS[cpt]
    allowed = base * rng.uniform(0.9, 1.1) * (drift.allowed_factor if drift else 1.0)
    billed = base * rng.uniform(1.6, 2.4) + 5
    claim_id = f"C{spec.seed:02d}-{n:09d}" if spec.with_claim_id else ""
    if decided > spec.end:
        return [
            claim_id,
            payer,
            cpt,
            submitted.isoformat(),
            "",
            "PENDING",
            f"{billed:.2f}",
            "",
            "",
            "",
            "",
            "",
        ]
    if denied:
        code, text = rng.choice(REASONS)
        if drift and drift.new_reason and rng.random() < 0.7:
            code, text = drift.new_reason
        return [
            claim_id, payer, cpt, submitted.isoformat(), decided.isoformat(), "DENIED",
            f"{billed:.2f}", "0.00", "0.00", code, text, "",
        ]  # fmt: skip
    paid = allowed * rng.uniform(0.75, 0.95)
    payment = decided + timedelta(days=rng.randint(1, 5))
    return [
        claim_id, payer, cpt, submitted.isoformat(), decided.isoformat(), "PAID",
        f"{billed:.2f}", f"{allowed:.2f}", f"{paid:.2f}", "", "", payment.isoformat(),
    ]  # fmt: skip


def write_csv(spec: ClaimsSpec, path: Path, *, gzipped: bool = False) -> Path:
    """Write a claims file (streamed: any size in constant memory)."""
    opener = gzip.open if gzipped else open
    with opener(path, "wt", newline="", encoding="utf-8") as out:  # type: ignore[operator]
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(generate_rows(spec))
    return path


def csv_bytes(rows: list[list[str]], columns: list[str] = COLUMNS) -> bytes:
    """A small in-memory file, for tests."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode()
