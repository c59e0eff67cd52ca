"""Waypoint benchmarks (issue 8): python -m benchmarks --help."""
