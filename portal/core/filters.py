"""Filter pieces shared by every app's FilterSets.

``ModelChoiceFilter`` is django-filter's, with its choices read by one plain statement. Django
iterates a choice field's queryset with ``.iterator()``, which on PostgreSQL is a server-side
cursor: ``DECLARE … WITH HOLD``, a ``FETCH`` per chunk until one comes back empty, ``CLOSE`` —
four round trips for a select of a dozen payers, on every filtered list page.
"""

from __future__ import annotations

import django_filters
from django_filters import fields


class ListedChoices(fields.ModelChoiceIterator):
    """The empty and null choices, then the queryset's rows, read in one statement (and kept on
    the field's queryset, so a second pass over the choices reads nothing)."""

    def __iter__(self):
        field = self.field
        if field.empty_label is not None:
            yield ("", field.empty_label)
        if field.null_label is not None:
            yield (field.null_value, field.null_label)
        for instance in self.queryset:
            yield self.choice(instance)


class ModelChoiceField(fields.ModelChoiceField):
    iterator = ListedChoices


class ModelChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ModelChoiceField
