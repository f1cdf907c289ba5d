"""Domain errors: what went wrong, in the domain's words.

Services raise these; they know no HTTP. ``server/problems`` maps each class to a status and an
RFC 9457 problem document in one place. ``kind`` names the problem (it becomes the document's
``type``, ``/problems/<kind>``); ``errors`` point at the offending fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """One offending field: where (``["body", "name"]``), what is wrong, and its kind."""

    loc: Sequence[str | int]
    message: str
    type: str


class DomainError(Exception):
    """Base of every domain error. Subclasses set the default ``kind``."""

    kind: str = "error"  # each subclass's default; an instance may name its own

    def __init__(
        self,
        detail: str | None = None,
        *,
        kind: str | None = None,
        title: str | None = None,
        errors: Sequence[FieldIssue] | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.kind = kind or type(self).kind
        super().__init__(detail or self.kind)
        self.detail = detail
        self.title = title
        self.errors = list(errors) if errors else None
        self.retry_after = retry_after
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


class Malformed(DomainError):
    """The input cannot be read at all (a body that is not JSON, an unparsable query)."""

    kind = "bad-request"


class Invalid(DomainError):
    """The input reads but breaks a rule of the domain (a field out of range, a bad reference)."""

    kind = "validation-error"


class Unauthenticated(DomainError):
    """No valid credentials."""

    kind = "unauthorized"


class Forbidden(DomainError):
    """Valid credentials without the right to do this."""

    kind = "forbidden"


class NotFound(DomainError):
    """The resource does not exist for this caller (another tenant's looks the same)."""

    kind = "not-found"


class Conflict(DomainError):
    """The request contradicts the current state (a taken name, one rollout at a time)."""

    kind = "conflict"


class PreconditionFailed(DomainError):
    """The caller's version of the resource is stale (``If-Match``)."""

    kind = "precondition-failed"


class PreconditionRequired(DomainError):
    """A change that needs the caller's version of the resource did not give it."""

    kind = "precondition-required"


class TooLarge(DomainError):
    """The input is over a size limit."""

    kind = "payload-too-large"


class UnsupportedMediaType(DomainError):
    """The input's content type or encoding is not one this operation reads."""

    kind = "unsupported-media-type"


class QuotaExceeded(DomainError):
    """A rate limit or quota is used up; ``retry_after`` says when to try again."""

    kind = "rate-limited"


class Unavailable(DomainError):
    """A component this needs is down or busy; nothing was changed; retry later."""

    kind = "unavailable"


def not_found(resource: str, identifier: object) -> NotFound:
    return NotFound(f"{resource} {identifier} was not found")


def conflict(detail: str, *, kind: str = "conflict", field: str | None = None) -> Conflict:
    errors = [FieldIssue(loc=["body", field], message=detail, type=kind)] if field else None
    return Conflict(detail, kind=kind, errors=errors)


def invalid(kind: str, field: Sequence[str | int], message: str) -> Invalid:
    """One field breaks a rule (422)."""
    return Invalid(message, kind=kind, errors=[FieldIssue(loc=field, message=message, type=kind)])


def malformed(kind: str, field: Sequence[str | int], message: str) -> Malformed:
    """One field cannot be read (400)."""
    return Malformed(message, kind=kind, errors=[FieldIssue(loc=field, message=message, type=kind)])
