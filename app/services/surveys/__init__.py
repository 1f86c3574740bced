"""Satisfaction surveys, the satisfaction index and survey projects (issue 12)."""
