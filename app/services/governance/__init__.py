"""Governance of the customer experience (issue 15): the manual library with numbered copies,
announcements with acknowledgement, the privacy policy."""
