"""Store staff, training records and the service team's appraisal (issue 11)."""
