"""Which bank measure a survey question is: by its wording and by its answers.

A column is compared with each measure of the bank (datasets/measures/) twice:

- wording: the question's text (a Qualtrics column's question text, otherwise the column's
  name, which is the question in Google Forms, Microsoft Forms and SurveyMonkey and the
  question's own name in KoboToolbox and ODK) against the measure's question, its name and
  its id read as words. Only content words count (not "what", "do", "you"); a word matches
  another that starts with it or shares its first five letters ("belonging" and "belong",
  "volunteered" and "volunteering"). Each pair scores the mean of three: the share of the
  column's words found in the measure's text (a question asked word for word scores 1 even
  where the bank's adds a sentence), the share of both texts' words they have in common
  (Dice), and difflib's SequenceMatcher ratio of the two word sequences (their order); the best
  of the three texts is the wording score. The short names of KoboToolbox and ODK ("local_area") are matched through the
  measure's id and name, a full question through the measure's question.
- answers: the share of the column's distinct answers the measure can read, as intake reads
  them (evaluations/intake/labels.py): a label in the measure's own words, forgiving case,
  punctuation and "1 - " prefixes, or one of its codes. "Don't know"-type answers are left
  out. This is what tells two questions with the same codes apart when their labels differ.

score = 0.6 wording + 0.4 answers, in [0, 1]. A column is proposed as a measure's when its
wording is at least WORDING_NEEDED and the measure reads at least ANSWERS_NEEDED of its
answers; when the runner-up scores within CLOSE of the best, the choice is left to the charity.

Why difflib: the standard library's SequenceMatcher is enough to rank a few dozen columns
against a bank of a dozen measures (speed does not matter here), and it adds no dependency;
rapidfuzz, the maintained alternative, is not installed in this project's environment. The
word overlap does the work SequenceMatcher alone does badly (a short name against a long
question).
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluations.intake.labels import MISSING_KEYS, label_key, read_answers
from evaluations.intake.values import to_numbers

WORDING_WEIGHT, ANSWERS_WEIGHT = 0.6, 0.4
WORDING_NEEDED = 0.45
ANSWERS_NEEDED = 0.8
CLOSE = 0.05
STEM = 5  # letters two words share at the start to count as the same word

STOPWORDS = frozenset("""
a about all am an and any are as at be been by can could did do does for from had has have how i if in into is it
its me my of on or our so than that the their them there these this those to was we were what when where which who
whom why will with would you your yours yourself q
""".split())


@dataclass(frozen=True)
class Match:
    measure: str  # the bank id
    score: float
    wording: float
    answers: float


def words(text: str) -> list[str]:
    """The content words of a text, in order: lower case, no punctuation, no function words."""
    return [w for w in re.split(r"[^0-9a-z]+", label_key(text).replace("_", " ")) if len(w) > 1 and w not in STOPWORDS]


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return (len(short) >= 4 and long.startswith(short)) or (len(short) >= STEM and long[:STEM] == short[:STEM])


def similarity(a: list[str], b: list[str]) -> float:
    """How alike two texts' content words are, in [0, 1]: shared words (Dice) and their sequence (difflib)."""
    if not a or not b:
        return 0.0
    set_a, set_b = set(a), set(b)
    found_a = sum(any(_same(x, y) for y in set_b) for x in set_a)
    found_b = sum(any(_same(y, x) for x in set_a) for y in set_b)
    contained = found_a / len(set_a)  # the column's words found in the measure's text
    dice = (found_a + found_b) / (len(set_a) + len(set_b))  # the words both share
    sequence = difflib.SequenceMatcher(None, " ".join(a), " ".join(b), autojunk=False).ratio()
    return (contained + dice + sequence) / 3


def wording(text: str, measure) -> float:
    mine = words(text)
    return max(similarity(mine, words(t)) for t in (measure.question, measure.name, measure.id))


def answer_fit(answers: pd.Series, measure) -> float:
    """The share of a column's distinct answers (less "don't know"-type ones) the measure reads as its codes."""
    distinct = pd.Series(pd.unique(answers[answers != ""]), dtype=object)
    distinct = distinct[~distinct.map(label_key).isin(MISSING_KEYS)]
    if distinct.empty:
        return 0.0
    numbers = to_numbers(distinct)
    if measure.scale:
        readable = read_answers(distinct, measure.scale).from_words | np.isin(numbers, list(measure.scale))
    else:  # a continuous measure: any number in its range
        readable = (numbers >= measure.min) & (numbers <= measure.max)
    return float(np.mean(readable))


def rank(text: str, answers: pd.Series, bank: dict) -> list[Match]:
    """Every bank measure scored for one column, best first."""
    out = []
    for m in bank.values():
        w, a = wording(text, m), answer_fit(answers, m)
        out.append(Match(m.id, round(WORDING_WEIGHT * w + ANSWERS_WEIGHT * a, 2), round(w, 2), round(a, 2)))
    return sorted(out, key=lambda x: (-x.score, x.measure))


def fits(match: Match) -> bool:
    return match.wording >= WORDING_NEEDED and match.answers >= ANSWERS_NEEDED


def close(best: Match, runner_up: Match | None) -> bool:
    """Too close to call: the runner-up also fits and scores within CLOSE of the best."""
    return runner_up is not None and fits(runner_up) and best.score - runner_up.score < CLOSE
