"""`assistant eval`: answer and score a test set, calibrate the similarity cut-off, or compare two runs, and
print the figures. The evaluation package does the work; this module reads the flags and prints.

Must not: score or read test sets itself (assistant/evaluation does), or exit (cli.main turns UserError into
one line and exit code 2).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli_common import EXIT_INTERNAL, EXIT_OK, UserError, progress_bar, settings_from_args


def cmd_eval(args: argparse.Namespace) -> int:
    """Answer and score a test set, calibrate the similarity cut-off, or compare two runs. The evaluation
    package raises EvalInputError for bad input; here it becomes one line and exit code 2."""
    from .evaluation import EvalInputError

    try:
        if args.compare:
            return _eval_compare(args)
        if not args.questions:
            raise UserError("eval needs --questions FILE (CSV, XLSX or JSONL), or --compare RUN_A RUN_B")
        return _eval_run(args)
    except EvalInputError as exc:
        raise UserError(str(exc)) from None


def _eval_compare(args: argparse.Namespace) -> int:
    from .evaluation.compare import compare_runs, load_run
    from .evaluation.report import write_compare_report

    a, b = (Path(p) for p in args.compare)
    names = [p.stem if p.is_file() else p.name for p in (a, b)]
    if names[0] == names[1]:
        names = [f"A:{names[0]}", f"B:{names[1]}"]
    cmp = compare_runs(load_run(a), load_run(b), *names)
    paths = write_compare_report(args.report or Path("evals/compare"), cmp)
    sig = cmp.significance
    print(
        f"{names[0]} -> {names[1]}: {sig['better']} better, {sig['worse']} worse, "
        f"{len(cmp.items) - len(cmp.changed)} same; exact McNemar p={sig['mcnemar_exact_p']}; "
        f"accuracy {cmp.figures['accuracy']['a']} -> {cmp.figures['accuracy']['b']}"
    )
    for it in cmp.changed:
        print(f"{it['change']:6s} {it['id']}: {it['question']}")
    print(f"report: {paths['html']}, {paths['markdown']}, {paths['json']}")
    return EXIT_OK


def _eval_run(args: argparse.Namespace) -> int:
    from .answer import Assistant
    from .evaluation import THRESHOLDS_FILE, failing_thresholds, read_questions, run_evaluation
    from .evaluation.progress import progress_reporter
    from .evaluation.report import SLICE_ORDER, write_run_report
    from .index import open_index

    items = read_questions(args.questions)  # before the index is opened: bad input fails at once
    if args.lang:
        for it in items:
            it["lang_override"] = args.lang
    settings = settings_from_args(args)
    judge = None
    if args.judge:
        from .evaluation.judge import make_judge

        try:
            judge = make_judge(settings)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    assistant = Assistant(settings, open_index(settings, progress=progress_bar("building index")))
    assistant.warm_up()
    if args.calibrate:
        from .evaluation.calibrate import calibrate, write_calibration

        cal = calibrate(assistant, items, progress=progress_reporter("calibrating"))
        target = args.out or Path("evals/similarity_calibration.json")
        write_calibration(cal, target)
        print(json.dumps(cal, ensure_ascii=False))
        print(f"calibration: {target}")
        return EXIT_OK
    run = run_evaluation(assistant, items, progress=progress_reporter("answering"), judge=judge)
    report = args.report or Path("evals/report")
    out = args.out or report / "results.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for r in run.results:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    summary = run.summary
    if summary["slices"] or summary["reference"]:
        paths = write_run_report(report, run, source=str(args.questions))
        overall = (summary["reference"] or summary["slices"])["all"]
        print(json.dumps(overall, ensure_ascii=False))
        for name in SLICE_ORDER[1:]:
            if name in summary["slices"]:
                s = summary["slices"][name]
                print(
                    f"{name:13s} n={s['n']:3d} acc={s['accuracy']} recall@5={s['recall@5']} "
                    f"support={s['citation_support']} abst_recall={s['abstention_recall']} lang={s['language_match']}"
                )
            if name in summary["reference"]:
                s = summary["reference"][name]
                print(
                    f"{name:13s} n={s['n']:3d} acc={s['accuracy']} facts={s['fact_recall']} "
                    f"similarity={s['similarity']} faithful={s['faithfulness']} context={s['context_recall']} "
                    f"abstention={s['abstention_correct']}"
                )
        print("report: " + ", ".join(str(p) for p in paths.values()))
    if args.check and summary["slices"]:
        thresholds = json.loads(THRESHOLDS_FILE.read_text(encoding="utf-8")) if THRESHOLDS_FILE.exists() else {}
        problems = failing_thresholds(run, thresholds)
        if problems:
            print("below threshold: " + "; ".join(problems), file=sys.stderr)
            return EXIT_INTERNAL
    return EXIT_OK
