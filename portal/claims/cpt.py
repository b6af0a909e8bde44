"""CPT / HCPCS codes and their default groups (PRODUCT §3.2). Pure functions, no ORM."""

from __future__ import annotations

import re

CPT_RE = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")

ANESTHESIA = "Anesthesia"
SURGERY = "Surgery"
RADIOLOGY = "Radiology"
PATHOLOGY_LAB = "Pathology/Lab"
MEDICINE = "Medicine"
EM = "E/M"
CATEGORY_II = "Category II"
CATEGORY_III = "Category III"
PLA = "PLA"
HCPCS = "HCPCS"
OTHER = "OTHER"

DEFAULT_GROUPS = [
    ANESTHESIA, SURGERY, RADIOLOGY, PATHOLOGY_LAB, MEDICINE, EM,
    CATEGORY_II, CATEGORY_III, PLA, HCPCS, OTHER,
]  # fmt: skip

# Numeric Category I ranges, in the order PRODUCT §3.2 gives them.
_RANGES = [
    (100, 1999, ANESTHESIA),
    (10004, 69990, SURGERY),
    (70010, 79999, RADIOLOGY),
    (80047, 89398, PATHOLOGY_LAB),
    (90281, 99199, MEDICINE),
    (99500, 99607, MEDICINE),
    (99202, 99499, EM),
]


def normalise_cpt(raw: str) -> str:
    return raw.strip().upper()


def is_valid_cpt(code: str) -> bool:
    return bool(CPT_RE.match(code))


def default_group(code: str) -> str:
    """The default CPT group of a normalised, valid code."""
    last = code[-1]
    if code[0].isalpha():
        return HCPCS
    if last == "F":
        return CATEGORY_II
    if last == "T":
        return CATEGORY_III
    if last == "U":
        return PLA
    if not last.isdigit():
        return OTHER
    number = int(code)
    for low, high, group in _RANGES:
        if low <= number <= high:
            return group
    return OTHER
