"""dlcourse.stats against scipy and computations by hand."""
import math
import statistics

import pytest

from dlcourse import stats


def test_welch_interval_agrees_with_scipy():
    from scipy import stats as scipy_stats

    a = [0.91, 0.905, 0.912, 0.899, 0.915, 0.908]
    b = [0.897, 0.902, 0.889, 0.9, 0.893]
    result = stats.welch_interval(a, b)
    reference = scipy_stats.ttest_ind(a, b, equal_var=False)
    assert result["t"] == pytest.approx(reference.statistic, rel=1e-9)
    assert result["p"] == pytest.approx(reference.pvalue, rel=1e-9)
    assert result["low"] < result["diff"] < result["high"]
    # the interval excludes 0 exactly when p < 0.05
    assert (result["low"] > 0) == (result["p"] < 0.05)


def test_paired_interval_agrees_with_scipy_and_by_hand():
    from scipy import stats as scipy_stats

    a = [0.91, 0.905, 0.912, 0.899, 0.915]
    b = [0.897, 0.902, 0.889, 0.9, 0.893]
    result = stats.paired_interval(a, b)
    reference = scipy_stats.ttest_rel(a, b)
    assert result["t"] == pytest.approx(reference.statistic, rel=1e-9)
    assert result["p"] == pytest.approx(reference.pvalue, rel=1e-9)
    d = [x - y for x, y in zip(a, b)]
    mean = sum(d) / 5
    sd = math.sqrt(sum((v - mean) ** 2 for v in d) / 4)
    half = 2.7764451051977987 * sd / math.sqrt(5)  # t quantile 0.975 at 4 degrees of freedom
    assert result["diff"] == pytest.approx(mean, rel=1e-12)
    assert result["low"] == pytest.approx(mean - half, rel=1e-9)
    assert result["high"] == pytest.approx(mean + half, rel=1e-9)
    assert result["sd"] == pytest.approx(sd, rel=1e-12)
    with pytest.raises(ValueError, match="pair up"):
        stats.paired_interval(a, b[:4])


def test_mean_sd_is_the_sample_standard_deviation():
    values = [96.1, 96.4, 96.1, 96.1, 96.3]
    assert stats.mean_sd(values) == pytest.approx((statistics.mean(values), statistics.stdev(values)))
    assert stats.mean_sd([3.0]) == (3.0, 0.0)
    with pytest.raises(ValueError, match="values"):
        stats.mean_sd([])
    with pytest.raises(ValueError, match="values"):
        stats.mean_sd([1.0, math.nan])


def _holm_by_definition(p):
    """Reject H_(k) at level a while p_(j) <= a / (m - j + 1) for every j <= k: the adjusted p
    value is the smallest a that rejects it."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted = {}
    for k, i in enumerate(order):
        adjusted[i] = min(1.0, max((m - j) * p[order[j]] for j in range(k + 1)))
    return [adjusted[i] for i in range(m)]


@pytest.mark.parametrize("p", [[0.01, 0.04, 0.03, 0.005], [0.5], [0.2, 0.2, 0.2],
                               [0.0499, 0.001, 0.9, 0.02, 0.3, 0.04, 0.011]])
def test_holm_matches_its_definition(p):
    assert stats.holm(p) == pytest.approx(_holm_by_definition(p))


def test_holm_by_hand_and_bad_input():
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    with pytest.raises(ValueError, match="p_values"):
        stats.holm([0.5, 1.5])


def test_markdown_table_aligns_numbers_right():
    text = stats.markdown_table(["loss", "accuracy"], [["focal", 91.2], ["CE", 90.0]])
    assert text.splitlines() == ["| loss | accuracy |", "| --- | ---: |",
                                 "| focal | 91.2 |", "| CE | 90.0 |"]
    with pytest.raises(ValueError, match="rows"):
        stats.markdown_table(["a", "b"], [[1]])
    assert stats.markdown_table(["H(X|Y)"], [["0.5"]]).splitlines()[0] == "| H(X\\|Y) |"
