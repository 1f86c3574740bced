"""Domain services: verb functions that flush but never commit (the view commits once)."""


class RuleError(ValueError):
    """A request that breaks a business rule; its message is shown to the user as is."""
