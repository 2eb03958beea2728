"""Routing: language detection, topic classification, expert matching and deadlines."""

from routing.deadlines import Due, plan_steps
from routing.language import Detection, LanguageDetector
from routing.matching import Candidate, RouteDecision, match
from routing.topics import TopicClassifier, TopicGuess
from routing.triage import Analysis, Triage

__all__ = [
    "Analysis",
    "Candidate",
    "Detection",
    "Due",
    "LanguageDetector",
    "RouteDecision",
    "TopicClassifier",
    "TopicGuess",
    "Triage",
    "match",
    "plan_steps",
]
