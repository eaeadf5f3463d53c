"""Number formats, the group-means table's disclosure control and the page's folding, without building the book
(tests/test_verdict_pages.py reads the built pages)."""
from __future__ import annotations

import copy

from evaluations import disclosure
from evaluations.disclosure import NOT_SHOWN, SUPPRESSED
from evaluations.publish.pages import fmt_num, fmt_p, fmt_p_is, fmt_signed
from evaluations.publish.technical import collapsible, number_figures


def test_numbers_read_one_way():
    assert fmt_num(-0.0004) == "0.00" and fmt_num(-0.004, 2) == "0.00" and fmt_num(-0.006) == "−0.01"
    assert fmt_num(-0.0006607, 1) == "0.0" and fmt_num(2.35947, 1) == "2.4"
    assert fmt_signed(0.3535) == "+0.35" and fmt_signed(-0.1249) == "−0.12" and fmt_signed(-0.001) == "0.00"
    assert fmt_p(0.0004) == "< 0.001" and fmt_p_is(0.0004) == "p < 0.001" and fmt_p_is(0.0123) == "p = 0.012"


def test_figures_are_numbered_from_one_on_each_page():
    fig = "```{figure} ../figures/a.png\n:alt: A plot\n:width: 100%\n\nCaption WHICH.\n```\n"
    page = "# Page\n\n" + fig.replace("WHICH", "one") + "text\n\n" + fig.replace("WHICH", "two")
    numbered = number_figures(page)
    assert "\n\nFigure 1. Caption one." in numbered and "\n\nFigure 2. Caption two." in numbered
    assert number_figures(page) == numbered  # the same page numbers the same way


def test_folded_sections_hold_no_heading_and_escape_their_title():
    block = collapsible("Checks <b>&</b>", "### Robustness checks\n\n| a | b |\n| --- | --- |\n| 1 | 2 |")
    assert block.startswith('<details class="cg-technical">\n<summary>Checks &lt;b&gt;&amp;&lt;/b&gt;</summary>\n\n')
    assert "**Robustness checks**" in block and "###" not in block and block.endswith("\n\n</details>\n")
    assert collapsible("Empty", "  \n") == ""


def _row(wave, n_t, n_c, mean_t=3.0, mean_c=2.5, smallest=None):
    return {"outcome": "y", "wave": wave, "period": 1, "mean_treated": mean_t, "mean_comparison": mean_c,
            "n_treated": n_t, "n_comparison": n_c, "smallest_category": smallest}


def test_group_means_publish_no_mean_or_count_from_fewer_than_ten():
    rows = disclosure.group_means_rows([_row("a", 9, 40), _row("b", 40, 40, smallest=9), _row("c", 40, 40),
                                        _row("d", 12, 0, mean_c=None)])
    assert rows[0] == {"outcome": "y", "wave": "a", "mean_treated": None, "mean_comparison": 2.5,
                       "n_treated": SUPPRESSED, "n_comparison": 40}
    assert rows[1]["mean_treated"] is None and rows[1]["mean_comparison"] is None  # 9 gave one yes/no answer
    assert (rows[2]["mean_treated"], rows[2]["n_treated"]) == (3.0, 40)
    assert rows[3]["mean_comparison"] is None and rows[3]["n_comparison"] == 0  # no comparison group


def _record(follow_up_n: int, linked: bool = True) -> dict:
    flow = {"registered": 200, "baseline": 150, "follow_up": 120, "analysed": 100}
    return {"primary_outcome": "y",
            "design": {"linked_waves": linked, "baseline": "before", "follow_up": "after"},
            "estimates": [{"outcome": "y", "n_treated": 100, "n_comparison": 100}],
            "flow": {"programme": dict(flow), "comparison": dict(flow)},
            "group_means": disclosure.group_means_rows([_row("before", 150, 150), _row("after", follow_up_n, 100)]),
            "diagnostics": {}, "data_quality": {}}


def test_a_group_means_count_gives_way_before_a_count_published_elsewhere():
    # 105 answered at follow-up, 100 were analysed (answered both waves): 5 people could be worked out
    record = disclosure.protect_record(_record(105))
    assert record["group_means"][1]["n_treated"] == NOT_SHOWN
    assert record["estimates"][0]["n_treated"] == 100 and record["flow"]["programme"]["follow_up"] == 120
    assert record["group_means"][1]["mean_treated"] == 3.0  # a mean does not give its n back
    assert record["group_means"][0]["n_treated"] == 150
    assert not [p for p in disclosure.disclosure_problems(record) if "group_means" in p]
    # 110 and 100 differ by 10: both published
    assert disclosure.protect_record(_record(110))["group_means"][1]["n_treated"] == 110


def test_with_different_people_each_wave_the_waves_add_up_to_the_people_analysed():
    record = _record(95, linked=False)
    record["group_means"] = disclosure.group_means_rows([_row("before", 95, 50), _row("after", 5, 50)])
    protected = disclosure.protect_record(copy.deepcopy(record))
    # 100 analysed = 95 + fewer than 10: the 95 would give the small wave back
    assert protected["group_means"][1]["n_treated"] == SUPPRESSED
    assert protected["group_means"][0]["n_treated"] == NOT_SHOWN or protected["estimates"][0]["n_treated"] == NOT_SHOWN
