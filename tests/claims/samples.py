"""Small claims files shared by the portal and API upload tests."""

from django.core.files.uploadedfile import SimpleUploadedFile

from portal.claims import services
from portal.claims.generator import csv_bytes


def claim(claim_id, payer="Aetna", cpt="99213", outcome="PAID", decided="2025-03-05"):
    return [claim_id, payer, cpt, "2025-03-01", decided, outcome, "100.00", "80.00", "70.00",
            "", "", ""]  # fmt: skip


GOOD = [claim("C1"), claim("C2", payer="Cigna"), claim("C3", outcome="PENDING", decided="")]
BAD = [
    claim("B1", cpt="XYZ"),  # rejected: not a CPT
    claim("B2", decided="2025-02-01"),  # rejected: decided before submitted
    claim("W1", outcome="WEIRD"),  # imported as OTHER, with a warning
]


def upload_file(name="claims.csv", rows=GOOD, **kwargs):
    return SimpleUploadedFile(name, csv_bytes(rows, **kwargs), content_type="text/csv")


def ingest(customer, tmp_path, rows, name="claims.csv"):
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows))
    return services.ingest_file(customer=customer, raw_path=str(path))
