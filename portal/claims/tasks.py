"""django-q2 tasks of the claims app (queued by services after commit)."""

from portal.claims import services
from portal.claims.models import Upload


def process_upload(upload_id: int) -> str:
    upload = Upload.objects.select_related("customer", "uploaded_by").get(pk=upload_id)
    return services.upload_process(upload=upload).status


def renormalise_payers(customer_id: int) -> int:
    return services.renormalise_payers(customer_id=customer_id)


def regroup_cpts(customer_id: int) -> int:
    return services.regroup_cpts(customer_id=customer_id)
