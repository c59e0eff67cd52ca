"""Sign-in and the current viewer (access issue).

- Sign-in is Streamlit's built-in OpenID Connect (``st.login`` / ``st.user``), configured in
  ``.streamlit/secrets.toml`` (``[auth]``; see ``.streamlit/secrets.toml.example``). Who may see
  what is the ``[access.users]`` table of the clinic config (``WAYPOINT_CONFIG``;
  :mod:`analytics.access`).
- Without ``[auth]`` in the secrets, Waypoint is in *local demo mode*: one local admin, a banner
  says so, and ``waypoint serve`` binds to 127.0.0.1 only.

:func:`gate` runs at the top of ``app.py`` on every rerun: it shows the sign-in screen or the
polite refusal and stops the script, or returns the viewer. :func:`current_viewer` is what
``dashboard/data.py`` applies to every analytics call, so no page can widen its own scope.
"""
from __future__ import annotations

import os

import streamlit as st

from analytics.access import DEMO_VIEWER, AccessConfig, Viewer, load_access_config


def sign_in_configured() -> bool:
    """True when the secrets have an ``[auth]`` table (``st.login`` is configured)."""
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all: demo mode
        return False


@st.cache_resource(show_spinner=False)
def _access_config(path: str | None, mtime: float) -> AccessConfig:
    return load_access_config(path)


def access_config() -> AccessConfig:
    """The clinic config's ``[access]`` table, re-read when the file changes."""
    path = os.environ.get("WAYPOINT_CONFIG")
    try:
        mtime = os.path.getmtime(path) if path else 0.0
    except OSError:
        mtime = -1.0
    return _access_config(path, mtime)


def _signed_in_identity() -> str | None:
    if not getattr(st.user, "is_logged_in", False):
        return None
    identity = st.user.get("email") or st.user.get("preferred_username")
    return str(identity).strip().lower() if identity else None


def current_viewer() -> Viewer | None:
    """The viewer of this browser session: the demo admin in demo mode; else the signed-in user's
    entry in the clinic config; None when nobody (allowed) is signed in."""
    if not sign_in_configured():
        return DEMO_VIEWER
    return access_config().viewer_for(_signed_in_identity())


def require_viewer() -> Viewer:
    """The current viewer, or stop the script (nothing is computed for nobody)."""
    viewer = current_viewer()
    if viewer is None:
        st.error("You are not signed in, or not on this clinic's list of Waypoint users.", icon=":material/lock:")
        st.stop()
    return viewer


def gate() -> Viewer:
    """Sign-in screen, refusal, or the viewer (with the demo banner in demo mode)."""
    if not sign_in_configured():
        st.warning(
            "**Local demo mode.** Nobody signs in and everyone who can open this page is an admin, so "
            "Waypoint only listens on this computer (127.0.0.1). To let colleagues sign in through your "
            "clinic's identity provider, configure sign-in: see *Access and privacy* in the README.",
            icon=":material/science:",
        )
        return DEMO_VIEWER
    identity = _signed_in_identity()
    if identity is None:
        st.title("Waypoint")
        st.write("Sign in with your clinic account to see your clinic's figures.")
        st.button("Sign in", on_click=st.login, icon=":material/login:", type="primary")
        st.stop()
    from dashboard.ui import md   # the identity is the provider's text: shown inert

    viewer = access_config().viewer_for(identity)
    if viewer is None:
        _refused_once(identity)
        st.title("Waypoint")
        st.info(
            f"You are signed in as {md(identity)}, but this account is not on the clinic's list of Waypoint "
            "users. If you should have access, please ask your clinic's Waypoint administrator to add you.",
            icon=":material/lock:",
        )
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {md(identity)} · {viewer.role}"
                   + (f" (clinician {md(viewer.clinician_id)})" if viewer.clinician_id else ""))
        st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="sign-out")
    return viewer


def _refused_once(identity: str) -> None:
    key = f"_waypoint_refused_{identity}"
    if st.session_state.get(key):
        return
    st.session_state[key] = True
    try:
        from dashboard import data

        data.audit("refused", detail=f"signed in as {identity}, not in [access.users]", user=identity)
    except Exception:  # noqa: BLE001 - never let the log stop the refusal being shown
        pass
