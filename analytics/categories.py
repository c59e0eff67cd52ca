"""The readiness categories (readiness issue), in the order the records and the caseload list them.

Kept apart from :mod:`analytics.readiness` so that the command line can offer them as choices
without importing the statistics behind them.
"""
from __future__ import annotations

from typing import NamedTuple


class Category(NamedTuple):
    id: str
    label: str
    description: str


CATEGORIES: tuple[Category, ...] = (
    Category("safety", "Safety",
             "The latest recorded risk item (PHQ-9 item 9, CORE-10 item 6) is 1 or more: review risk first."),
    Category("deteriorating", "Deteriorating",
             "Reliably worse than at the start on at least one scale."),
    Category("not_on_track", "Not on track",
             "Behind the clinic's expected recovery for this starting severity and session "
             "(without enough reference episodes: less than a 25 % fall after 6 sessions)."),
    Category("ready_for_review", "Ready for review",
             "Reliably improved and stable below the cutoff for 6 weeks or more: time to talk about "
             "ending or stepping down."),
    Category("improving", "Improving",
             "Reliably improved, or scores falling, but not yet stable below the cutoff."),
    Category("stuck", "Stuck",
             "Six or more sessions, still at caseness, no movement: consider a change of approach "
             "or a supervision review."),
    Category("maintenance", "Maintenance",
             "Not at caseness at the start: symptom scales are not the goal here; review goals."),
    Category("too_early", "Too early", "Fewer than three scored sessions so far."),
    Category("on_track", "On track", "None of the above: progressing as expected."),
)
CATEGORY_ORDER = {c.id: i for i, c in enumerate(CATEGORIES)}
LABELS = {c.id: c.label for c in CATEGORIES}
