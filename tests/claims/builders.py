"""Hand-made claims for tests that check numbers exactly (bulk-inserted, no CSV round trip)."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from decimal import Decimal

from portal.claims.models import Claim, Outcome, Payer

_ids = itertools.count(1)


def payer(customer, name: str) -> Payer:
    return Payer.objects.get_or_create(
        customer=customer, key=name.lower(), defaults={"name": name}
    )[0]


def add_claims(customer, rows, *, cpt: str = "99213", cpt_group: str = "E/M") -> list[Claim]:
    """``rows``: (payer name, submitted date, days to decision or None (PENDING), outcome,
    billed dollars). Returns the inserted claims."""
    payers: dict[str, Payer] = {}
    claims = []
    for name, submitted, days, outcome, billed in rows:
        if name not in payers:
            payers[name] = payer(customer, name)
        claims.append(
            Claim(
                customer=customer,
                claim_id=f"T{next(_ids):08d}",
                payer=payers[name],
                payer_key=name.lower(),
                cpt=cpt,
                cpt_group=cpt_group,
                submitted_date=submitted,
                decided_date=None if days is None else submitted + timedelta(days=days),
                outcome=outcome,
                billed_amount=Decimal(str(billed)),
            )
        )
    return Claim.objects.bulk_create(claims)


def decided(name: str, decided_on: date, days: int, outcome: str, billed=100) -> tuple:
    """A row for ``add_claims`` given its decision date."""
    return (name, decided_on - timedelta(days=days), days, outcome, billed)


def random_claims(customer, *, claims: int, payers: int, today: date, seed: int = 1) -> None:
    """``claims`` claims over ``payers`` payers and the last 200 days, for query-count tests."""
    rng = random.Random(seed)
    names = [f"Payer {i:02d}" for i in range(payers)]
    rows = []
    for _ in range(claims):
        submitted = today - timedelta(days=rng.randint(0, 200))
        days = rng.randint(1, 40)
        if submitted + timedelta(days=days) > today:
            rows.append((rng.choice(names), submitted, None, Outcome.PENDING, 90))
        else:
            outcome = Outcome.DENIED if rng.random() < 0.15 else Outcome.PAID
            rows.append((rng.choice(names), submitted, days, outcome, rng.randint(20, 500)))
    groups = ["E/M", "Surgery", "Radiology"]
    for i, group in enumerate(groups):
        add_claims(customer, rows[i :: len(groups)], cpt_group=group)
