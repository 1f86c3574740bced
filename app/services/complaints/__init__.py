"""Complaint handling (issue 9): settings, clocks, the workflow and headquarters' joint handling."""
