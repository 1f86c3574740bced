"""The loyalty programme (issue 14): the points ledger, redemption, returns, expiry and tier
privileges. See models/loyalty.py for the ledger's rules."""
