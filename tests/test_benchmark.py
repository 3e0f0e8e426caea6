"""The benchmark script's machinery (not its timings: benchmarks are run by hand, see benchmarks/README.md)."""

import importlib.util

import pytest
from conftest import ROOT

_spec = importlib.util.spec_from_file_location("benchmarks_run", ROOT / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_nearest_rank_percentiles_and_ratios():
    xs = [float(x) for x in range(1, 84)]  # 83 values, as many as the dev split
    assert bench.pct(xs, 0.50) == 42.0 and bench.pct(xs, 0.95) == 79.0 and bench.pct([], 0.5) is None
    assert bench.ratio(3.0, 2.0) == 1.5 and bench.ratio(1.0, 0.0) == float("inf") and bench.ratio(None, 1) is None
    assert bench.check(29.9, "<=", 30.0) and not bench.check(30.1, "<=", 30.0) and bench.check(2.5, ">=", 2.5)


def test_warm_child_answers_times_the_embedding_and_scores(settings, store):
    """The project's warm child over the session index, driven as warm_runs drives it."""
    child = bench.WarmChild("project", settings.index_dir, limit=3)
    try:
        ready = child._read()
        assert ready["ready"] and ready["n"] == 3 and not ready["rebuilt_index"]
        asked = [child.send(f"ask {i}")["ms"] for i in range(3)]
        embedded = child.send("embed 0")["ms"]
        final = child.send("finish")
    finally:
        child.close()
    assert all(ms > 0 for ms in asked) and embedded > 0
    assert final["summary"]["n"] == 3 and len(final["items"]) == 3 and not final["errors"]
    assert final["peak_rss_mb"] > 50


@pytest.mark.parametrize("bad", [["_child", "warm", "nobody", "--dir", "/tmp"], ["_child", "dance", "project"]])
def test_child_rejects_unknown_commands(bad):
    with pytest.raises(SystemExit) as exc:
        bench.child_main(bad[1:])
    assert exc.value.code == 2
