"""User-facing errors. The CLI prints the message on one line and exits with status 2."""


class WaypointError(Exception):
    """Something the user can act on: say where (file, line, column), what, and what to do next."""
