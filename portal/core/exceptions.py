"""Domain errors raised by services. Views turn them into form errors or messages, the API into
its standard error body; services never raise HTTP errors."""


class DomainError(Exception):
    """A rule of the product was broken; ``message`` is safe to show to the user."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The actor may not do this to this object (a 403 for an object they can see)."""


class Conflict(DomainError):
    """The change would break an invariant (duplicate, last owner, …)."""
