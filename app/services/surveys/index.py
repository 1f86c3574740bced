"""The satisfaction index (满意度指数) of seed 004, exactly as written (R39, R40, R42):

    (A+B+C)*20%*100/5 + (D+E)*10%*100/5 + F*15%*100/5 + G*5%*100/5

each letter the mean score (1-5) of its indicator, ×100/5 turning a score into percent (1 point
= 20 %). For any questionnaire: the sum over its indicators of weight × mean × 100/5, the weights
in percent adding up to 100; rounded half up to 2 decimals. Exact decimal arithmetic throughout:
binary floats turn 87.72 into 87.71999... and a half-way value would round the wrong way.
"""
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


class WeightsError(ValueError):
    """The weights of a questionnaire do not add up to 100 %."""


def check_weights(weights: dict[str, Decimal]) -> None:
    total = sum((Decimal(w) for w in weights.values()), Decimal(0))
    if total != HUNDRED:
        raise WeightsError(total)
    if any(Decimal(w) < 0 for w in weights.values()):
        raise WeightsError(total)


def satisfaction_index(means: dict[str, Decimal], weights: dict[str, Decimal]) -> Decimal | None:
    """The index from each indicator's mean score and weight (percent). None when an indicator
    with weight has no answers: an index over part of the indicators would not compare."""
    check_weights(weights)
    total = Decimal(0)
    for code, weight in weights.items():
        weight = Decimal(weight)
        if weight == 0:
            continue
        mean = means.get(code)
        if mean is None:
            return None
        total += weight / HUNDRED * Decimal(mean) * HUNDRED / 5
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def mean(total, count) -> Decimal | None:
    """An indicator's mean score, unrounded (the index rounds once, at the end)."""
    return Decimal(total) / Decimal(count) if count else None


def percent(score) -> Decimal:
    """A five-point score as percent (R42: 1 point = 20 %)."""
    return (Decimal(score) * HUNDRED / 5).quantize(CENT, rounding=ROUND_HALF_UP)
