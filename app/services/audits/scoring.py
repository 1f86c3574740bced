"""An audit's score from its answers (R32): the weighted percentage of what was met.

Each answered item earns a fraction of its weight: a yes/no item all or nothing, a 0-5 item
value/5. Items marked "not applicable" leave the denominator; unanswered items count only once
the audit is submitted (submission requires every item answered). A section's score is the
same sum over its items. A failed critical item (a "no", or a 0-5 value below the template's
pass mark) caps the score at the template's cap or fails the audit outright (score 0), per the
template's rule. Scores are percentages with two decimals, rounded half up.

Pure functions of the items and answers, so the hand-computed fixtures in the tests check
exactly what the portal stores.
"""
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Answer:
    value: int | None = None
    not_applicable: bool = False


@dataclass
class Result:
    score: Decimal | None
    raw_score: Decimal | None
    sections: dict[int, Decimal | None] = field(default_factory=dict)
    critical_failures: int = 0
    answered: int = 0
    below_standard: list[int] = field(default_factory=list)  # item ids


def fraction(item, answer: Answer) -> Decimal | None:
    """What share of the item's weight the answer earns; None: not applicable or unanswered."""
    if answer is None or answer.not_applicable or answer.value is None:
        return None
    if item.scoring == "yes_no":
        return Decimal(1) if answer.value else Decimal(0)
    return Decimal(answer.value) / 5


def below_standard(item, answer: Answer, scale_pass: int) -> bool:
    if answer is None or answer.not_applicable or answer.value is None:
        return False
    return (not answer.value) if item.scoring == "yes_no" else answer.value < scale_pass


def _percent(earned: Decimal, possible: Decimal) -> Decimal | None:
    if not possible:
        return None
    return (earned / possible * HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def score(template, answers: dict[int, Answer]) -> Result:
    """Score ``answers`` (by item id) against ``template`` (its sections and items)."""
    earned_all = possible_all = Decimal(0)
    result = Result(score=None, raw_score=None)
    for section in template.sections:
        earned = possible = Decimal(0)
        for item in section.items:
            answer = answers.get(item.id)
            share = fraction(item, answer)
            if answer is not None and (answer.not_applicable or answer.value is not None):
                result.answered += 1
            if share is None:
                continue
            weight = Decimal(item.weight)
            earned += weight * share
            possible += weight
            if below_standard(item, answer, template.scale_pass):
                result.below_standard.append(item.id)
                if item.critical:
                    result.critical_failures += 1
        result.sections[section.id] = _percent(earned, possible)
        earned_all += earned
        possible_all += possible
    result.raw_score = _percent(earned_all, possible_all)
    result.score = result.raw_score
    if result.critical_failures and result.raw_score is not None:
        if template.critical_rule == "fail":
            result.score = Decimal("0.00")
        else:
            result.score = min(result.raw_score, Decimal(template.critical_cap).quantize(CENT))
    return result
