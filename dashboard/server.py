"""What ``waypoint serve`` runs: the dashboard (``app.py``) as a Streamlit ``App`` whose start-up
hook begins the warm-up (``dashboard/warmup.py``), so the first visitor finds the clinic's default
figures computed. ``streamlit run dashboard/app.py`` still works, without the warm-up."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import streamlit as st


@asynccontextmanager
async def _lifespan(_app: Any) -> AsyncIterator[None]:
    # imported here, once Streamlit's runtime has started: the figure caches are then created in
    # the runtime's cache storage, the one the pages use
    from dashboard import warmup

    warmup.enable()
    yield


app = st.App(str(Path(__file__).resolve().with_name("app.py")), lifespan=_lifespan)
