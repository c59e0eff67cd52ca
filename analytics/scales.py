"""The scale registry: PHQ-9, GAD-7 and the rest, read from TOML (analytics/scales.toml).

A clinic adds scales in a TOML file of the same form, named by ``WAYPOINT_SCALES`` (paths
separated by the OS path separator) or passed to :func:`load_registry`.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

BUILTIN = Path(__file__).resolve().parent / "scales.toml"


@dataclass(frozen=True)
class Band:
    low: int
    high: int
    label: str


@dataclass(frozen=True)
class Scale:
    id: str
    name: str
    items: int
    item_min: int
    item_max: int
    min: int
    max: int
    higher_is_worse: bool
    cutoff: float | None = None
    caseness_at_cutoff: bool = True
    reliable_change: float | None = None
    reliability: float | None = None
    severity: tuple[Band, ...] = ()
    risk_item: int | None = None
    risk_threshold: int = 1
    outcome: bool = True
    sources: tuple[str, ...] = field(default=(), compare=False)

    def at_caseness(self, score: float) -> bool:
        """Is this score on the clinical side of the cutoff? (exactly at it: see caseness_at_cutoff)"""
        if self.cutoff is None:
            return False
        if self.higher_is_worse:
            return score >= self.cutoff if self.caseness_at_cutoff else score > self.cutoff
        return score <= self.cutoff if self.caseness_at_cutoff else score < self.cutoff

    def band(self, score: float) -> str | None:
        for b in self.severity:
            if b.low <= score <= b.high:
                return b.label
        return None

    def improvement(self, first: float, last: float) -> float:
        """Change in the healthy direction (positive = better)."""
        return (first - last) if self.higher_is_worse else (last - first)


REQUIRED = ("name", "items", "item_min", "item_max", "min", "max", "higher_is_worse")


def _parse(scale_id: str, raw: dict, origin: str) -> Scale:
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise ValueError(f"{origin}: scale [{scale_id}] is missing {', '.join(missing)}")
    values = dict(raw)
    values["severity"] = tuple(Band(int(lo), int(hi), str(lbl)) for lo, hi, lbl in raw.get("severity", []))
    values["sources"] = tuple(raw.get("sources", []))
    known = set(Scale.__dataclass_fields__) - {"id"}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"{origin}: scale [{scale_id}] has unknown field(s) {', '.join(sorted(unknown))}")
    scale = Scale(id=scale_id, **values)
    if scale.min > scale.max or scale.item_min > scale.item_max:
        raise ValueError(f"{origin}: scale [{scale_id}] has min above max")
    return scale


def _read(path: Path) -> dict[str, Scale]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return {sid: _parse(sid, raw, str(path)) for sid, raw in data.items()}


@cache
def load_registry(extra: tuple[str, ...] | None = None) -> dict[str, Scale]:
    """Built-in scales plus a clinic's own (``extra`` paths, else ``WAYPOINT_SCALES``)."""
    registry = _read(BUILTIN)
    if extra is None:
        env = os.environ.get("WAYPOINT_SCALES", "")
        extra = tuple(p for p in env.split(os.pathsep) if p)
    for path in extra:
        registry.update(_read(Path(path)))
    return registry


def get_scale(scale_id: str) -> Scale:
    registry = load_registry()
    if scale_id not in registry:
        raise KeyError(f"unknown scale {scale_id!r}; known: {', '.join(registry)}")
    return registry[scale_id]


def registry_frame():
    """The registry as a DataFrame (also loaded into SQL as the table ``scale_registry``)."""
    import pandas as pd

    rows = []
    for s in load_registry().values():
        rows.append({
            "scale": s.id, "name": s.name, "items": s.items, "item_min": s.item_min,
            "item_max": s.item_max, "min_score": s.min, "max_score": s.max,
            "higher_is_worse": s.higher_is_worse, "cutoff": s.cutoff,
            "caseness_at_cutoff": s.caseness_at_cutoff, "reliable_change": s.reliable_change,
            "reliability": s.reliability, "risk_item": s.risk_item,
            "risk_threshold": s.risk_threshold, "is_outcome": s.outcome,
        })
    return pd.DataFrame(rows)
