"""Waypoint's analytics core: import, scale registry, episodes, outcomes, engagement, readiness.

Never imports streamlit; the dashboard and the CLI are thin shells over these functions.
"""
from __future__ import annotations

__all__ = ["jacobson_truax", "connect"]


def __getattr__(name: str):
    if name == "jacobson_truax":
        from .reliable_change import jacobson_truax

        return jacobson_truax
    if name == "connect":
        from .db import connect

        return connect
    raise AttributeError(f"module 'analytics' has no attribute {name!r}")
