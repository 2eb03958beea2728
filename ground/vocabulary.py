"""The project's vocabulary: roles, statuses, priorities and escalation levels, stored as text.

Each is a ``StrEnum``, so a member is the very string the database holds and compares equal
to it; code names the member instead of repeating the literal.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AssignmentRole",
    "DraftStatus",
    "EndReason",
    "EscalationLevel",
    "FicheFeedback",
    "GapKind",
    "LabelSource",
    "OutboxStatus",
    "OutboxTarget",
    "Priority",
    "QuestionStatus",
    "RelayDirection",
    "Role",
    "StepState",
    "Verdict",
]


class Role(StrEnum):
    """What a person is to the bot."""

    ASKER = "asker"
    EXPERT = "expert"
    COORDINATOR = "coordinator"


class QuestionStatus(StrEnum):
    """Where a question stands."""

    OFFERED = "offered"  # a fiche answer was shown; no expert is involved yet
    OPEN = "open"  # routed to experts, waiting for a first answer
    ANSWERED = "answered"
    RESOLVED = "resolved"


ACTIVE_STATUSES = (QuestionStatus.OPEN, QuestionStatus.ANSWERED)


class AssignmentRole(StrEnum):
    """How an expert is on a question: the one responsible, or one asked to help."""

    PRIMARY = "primary"
    MENTIONED = "mentioned"


class EndReason(StrEnum):
    """Why an assignment ended."""

    RESOLVED = "resolved"  # the question was resolved
    PASSED = "passed"  # the expert passed it on
    REROUTED = "rerouted"  # a coordinator set another topic: routed again
    REMOVED = "removed"  # the expert left the directory


class Priority(StrEnum):
    """How urgent a question is; sets its response targets."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class EscalationLevel(StrEnum):
    """Who a deadline step reaches, widening in this order."""

    PRIMARY = "primary"
    EXPERTS = "experts"
    LEAD = "lead"
    COORDINATORS = "coordinators"


class StepState(StrEnum):
    """A scheduled deadline step: still to come, done, or no longer needed."""

    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


class OutboxStatus(StrEnum):
    """An outgoing message: waiting, sent, or given up (cancelled included)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class FicheFeedback(StrEnum):
    """What the asker said of the fiches shown for their question."""

    HELPED = "helped"  # "This answers it"
    EXPERT = "expert"  # "Ask an expert"
    NOT_ASKED = "not_asked"  # "Not what I asked"


class LabelSource(StrEnum):
    """Who judged whether a fiche answers a question, and how."""

    ASKER_HELPED = "asker_helped"
    ASKER_EXPERT = "asker_expert"
    ASKER_NOT_ASKED = "asker_not_asked"
    ASKER_FOLLOW_UP = "asker_follow_up"  # wrote under the fiche answer: sent to an expert
    EXPERT_FICHE = "expert_fiche"  # an expert answered with a fiche (/fiche ID)
    EXPERT_VERDICT = "expert_verdict"  # an expert said the fiche shown was right or wrong


class Verdict(StrEnum):
    """Whether the fiche answers the question."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


class DraftStatus(StrEnum):
    """A fiche drafted from an answer: waiting for review, approved (a fiche now), or rejected."""

    DRAFT = "draft"
    APPROVED = "approved"
    REJECTED = "rejected"


class OutboxTarget(StrEnum):
    """Whom an outbox message is for."""

    PERSON = "person"  # a private chat (or, from the experts' space, the thread asked from)
    SPACE = "space"  # a question's thread in the experts' space


class RelayDirection(StrEnum):
    """Which way a relayed message went."""

    TO_ASKER = "to_asker"  # an expert's answer
    TO_EXPERTS = "to_experts"  # an asker's follow-up


class GapKind(StrEnum):
    """What became of a question the fiches did not answer."""

    ROUTED = "routed"  # no fiche came close: experts were asked
    SUGGESTED = "suggested"  # fiches were shown while experts were asked
    UNCONFIRMED = "unconfirmed"  # a fiche answer was offered; the asker never confirmed it
