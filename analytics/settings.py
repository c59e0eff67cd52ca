"""Settings that shape the figures: as-of date, filters and the clinical thresholds.

One frozen dataclass, so a computation's inputs are explicit and cacheable. Defaults follow the
issues and `../shared/clinical-reference.md`; a clinic overrides them in its TOML config.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    # --- scope of the data -------------------------------------------------------------------
    as_of: date | None = None          # None: the latest session date in the data
    date_from: date | None = None      # rates: episodes that ended on/after this date
    date_to: date | None = None        # rates: episodes that ended on/before this date
    clinician_id: str | None = None
    site: str | None = None
    # --- episodes and endings (outcomes issue) -----------------------------------------------
    episode_gap_days: int = 180        # a gap longer than this between sessions starts a new episode
    lost_contact_days: int = 90        # no session for longer than this before as-of: dropout
    min_treatment_sessions: int = 2    # NHS Talking Therapies: finished = ended with >= 2 treatment sessions
    # --- engagement ----------------------------------------------------------------------------
    disengaged_days: int = 28          # watch list: no attended session for more than this
    consecutive_missed: int = 2        # watch list: this many missed sessions in a row at the latest
    remitted_weeks: int = 12           # capacity: below caseness on every scale for this long
    # --- comparison ----------------------------------------------------------------------------
    small_number: int = 5              # figures resting on fewer episodes are marked small
    # --- access (analytics/access.py) -----------------------------------------------------------
    # A clinician viewer's scope: only patients with at least one session with this clinician are
    # in the work tables (sql/episodes/w_sessions.sql). None: the whole clinic. Never read from TOML.
    scope_clinician_id: str | None = None

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)


def load_settings(path: str | Path | None, **overrides: Any) -> Settings:
    """Settings from the `[settings]` table of a clinic TOML file, then explicit overrides."""
    from .errors import WaypointError

    values: dict[str, Any] = {}
    if path is not None and Path(path).exists():
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise WaypointError(f"{path}: not valid TOML ({exc})") from None
        values.update(data.get("settings", {}))
    # a viewer's scope comes from sign-in, never from a file
    known = {f.name for f in fields(Settings)} - {"scope_clinician_id"}
    unknown = set(values) - known
    if unknown:
        raise WaypointError(f"{path}: [settings] has unknown setting(s) {', '.join(sorted(unknown))}; the settings "
                            f"are {', '.join(sorted(known))}.")
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
