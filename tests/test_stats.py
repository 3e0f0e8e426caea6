"""The one percentile rule (assistant/stats.py) that the evaluation, the benchmark and the load test share,
and the offline environment (assistant/offline.py) every entry point and child process gets."""

from __future__ import annotations

from assistant.offline import OFFLINE_ENV, apply_defaults, child_env
from assistant.stats import percentile


def test_percentile_is_the_value_at_rank_floor_qn_plus_one():
    xs = [float(x) for x in range(1, 84)]  # 83 values, as many as the dev split
    assert percentile(xs, 0.50) == 42.0 and percentile(xs, 0.95) == 79.0
    ten = [10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0]  # unsorted on purpose
    assert percentile(ten, 0.5) == 6.0  # an even count: the upper of the two middle values
    assert percentile(ten, 0.0) == 1.0 and percentile(ten, 1.0) == 10.0 and percentile(ten, 0.95) == 10.0
    assert percentile([], 0.5) is None and percentile(iter([3.5]), 0.95) == 3.5


def test_offline_defaults_keep_what_the_user_set_and_children_are_forced_offline():
    env = {"HF_HUB_OFFLINE": "0"}
    apply_defaults(env)
    assert env == {**OFFLINE_ENV, "HF_HUB_OFFLINE": "0"}
    child = child_env({"HF_HUB_OFFLINE": "0", "KEEP": "x"}, EXTRA="1")
    assert child == {**OFFLINE_ENV, "KEEP": "x", "EXTRA": "1"}
