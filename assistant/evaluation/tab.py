"""The chat window's Evaluate tab: upload a test set, watch it being answered, read the report, download it.

Nothing is kept after the session: the upload is read into a temporary folder of this run and deleted
from Gradio's upload cache at once; the reports are written to that folder, read back into the page
(the report inline, the downloads as data: links, so no file goes to Gradio's cache), and the folder is
removed before the handler returns, whatever happens. Limits: file size and number of questions."""

from __future__ import annotations

import base64
import html
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ..normalize import persian_digits
from .io import SUFFIXES, EvalInputError, read_questions

MAX_UPLOAD_BYTES = 1_000_000  # a 200-question spreadsheet with long references is ~100 kB
MAX_ROWS = 200  # about 3 minutes with the offline composer on a shared 2-core machine
TICK_S = 0.4

INTRO = """<div class="eval-intro"><p lang="en" dir="ltr">Upload a test set: a CSV or XLSX file whose first row
names the columns <code>question</code> and <code>reference</code> (the right answer in plain words; write
<i>not in the paper</i> when the paper does not answer it), optionally <code>id</code>, <code>lang</code>,
<code>history</code>, <code>answerable</code>; or our JSONL. Up to {rows} questions, {kb} kB. The report stays
in this page until you leave it; download what you want to keep.</p>
<p lang="fa" dir="rtl">یک مجموعه آزمون بارگذاری کنید: فایل CSV یا XLSX که سطر نخست آن ستون‌های <code>question</code> و
<code>reference</code> (پاسخ درست به زبان ساده؛ اگر مقاله پاسخ نمی‌دهد بنویسید «مقاله پاسخ نمی‌دهد») و در صورت نیاز
<code>id</code>، <code>lang</code>، <code>history</code> و <code>answerable</code> را نام ببرد. حداکثر {rows_fa} پرسش.
گزارش تا وقتی این صفحه باز است می‌ماند؛ هرچه را می‌خواهید نگه دارید دانلود کنید.</p></div>"""


def _message(en: str, fa: str, kind: str = "info") -> str:
    return (
        f'<div class="eval-msg eval-{kind}" role="status"><div lang="en" dir="ltr">{html.escape(en)}</div>'
        f'<div lang="fa" dir="rtl">{html.escape(fa)}</div></div>'
    )


def progress_html(done: int, total: int, started: float) -> str:
    pct = int(100 * done / total) if total else 0
    return (
        f'<div class="eval-progress" data-done="{done}" data-total="{total}">'
        f'<progress max="{total}" value="{done}"></progress> '
        f'<span lang="en" dir="ltr">Answered {done} of {total} questions ({pct}%, {time.monotonic() - started:.0f} s)</span> · '
        f'<span lang="fa" dir="rtl">{persian_digits(f"{done} از {total}")} پرسش پاسخ داده شد</span></div>'
    )


def _data_link(path: Path, mime: str, label: str, elem: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<a id="{elem}" class="eval-download" download="{html.escape(path.name)}" '
        f'href="data:{mime};base64,{data}">{html.escape(label)}</a>'
    )


def _report_frame(report_html: str) -> str:
    # In an iframe: the report's own CSS stays inside it, and the page's does not restyle the report.
    return (
        f'<iframe id="eval-report-frame" title="Evaluation report" style="width:100%;height:900px;'
        f'border:1px solid #d8dde6;border-radius:8px" srcdoc="{html.escape(report_html, quote=True)}"></iframe>'
    )


def forget_upload(path: str) -> None:
    """Delete an uploaded file from Gradio's cache (and its folder, when that is now empty)."""
    try:
        os.remove(path)
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass


def evaluate_upload(
    get_assistant: Callable, upload: str | None, max_rows: int = MAX_ROWS, max_bytes: int = MAX_UPLOAD_BYTES
) -> Iterator[tuple[str, str, str]]:
    """(status, downloads, report) as the run goes; a plain generator, so it is testable without a browser."""
    from .pipeline import run_evaluation
    from .report import write_run_report

    if not upload:
        yield (
            _message(
                "Choose a CSV, XLSX or JSONL file first.", "ابتدا یک فایل CSV، XLSX یا JSONL انتخاب کنید.", "error"
            ),
            "",
            "",
        )
        return
    src = Path(upload)
    name = src.name
    work = Path(tempfile.mkdtemp(prefix="assistant-eval-"))
    try:
        try:
            size = src.stat().st_size
            if src.suffix.lower() not in SUFFIXES:
                raise EvalInputError(f"{name}: unknown kind of file; use .csv, .xlsx or .jsonl")
            if size > max_bytes:
                raise EvalInputError(f"{name} is {size:,} bytes; the limit is {max_bytes:,} bytes")
            local = work / name
            shutil.copyfile(src, local)
        except FileNotFoundError:
            raise EvalInputError(f"{name}: the upload is gone; choose the file again") from None
        finally:
            forget_upload(upload)
        items = read_questions(local, max_rows=max_rows)
        local.unlink()
        yield progress_html(0, len(items), time.monotonic()), "", ""
        state: dict = {"done": 0, "total": len(items), "run": None, "error": None}
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            state["done"] = done

        def work_thread() -> None:
            try:
                state["run"] = run_evaluation(get_assistant(), items, progress=progress)
            except Exception as exc:  # noqa: BLE001 - shown to the user as one line
                state["error"] = exc

        t = threading.Thread(target=work_thread, name="evaluate-upload", daemon=True)
        t.start()
        shown = -1
        while t.is_alive():
            t.join(TICK_S)
            if state["done"] != shown:
                shown = state["done"]
                yield progress_html(shown, len(items), started), "", ""
        if state["error"] is not None:
            exc = state["error"]
            yield (
                _message(
                    f"The evaluation stopped: {type(exc).__name__}: {exc}",
                    "ارزیابی متوقف شد؛ جزئیات به انگلیسی در بالا آمده است.",
                    "error",
                ),
                "",
                "",
            )
            return
        run = state["run"]
        paths = write_run_report(work / "report", run, source=name)
        stem = Path(name).stem
        for key in ("html", "csv", "xlsx"):  # downloads named after the test set
            target = paths[key].with_name(f"{stem}-{paths[key].name}")
            paths[key].rename(target)
            paths[key] = target
        head = (run.summary.get("reference") or run.summary.get("slices") or {}).get("all", {})
        status = (
            f'<div class="eval-done" role="status">{progress_html(len(items), len(items), started)}'
            f'<div lang="en" dir="ltr"><b>Accuracy {head.get("accuracy")}</b> on {head.get("n")} questions; '
            f"{len(run.failures)} failures (listed in the report).</div>"
            f'<div lang="fa" dir="rtl"><b>درستی {persian_digits(str(head.get("accuracy")))}</b> در '
            f"{persian_digits(str(head.get('n')))} پرسش؛ {persian_digits(str(len(run.failures)))} خطا "
            f"(در گزارش آمده است).</div></div>"
        )
        links = (
            '<div class="eval-downloads">Download · دانلود: '
            + _data_link(paths["html"], "text/html", "Report (HTML)", "eval-dl-html")
            + " · "
            + _data_link(paths["csv"], "text/csv", "Per item (CSV)", "eval-dl-csv")
            + " · "
            + _data_link(
                paths["xlsx"],
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "Per item (XLSX)",
                "eval-dl-xlsx",
            )
            + "</div>"
        )
        yield status, links, _report_frame(paths["html"].read_text(encoding="utf-8"))
    except EvalInputError as exc:
        yield _message(str(exc), "این فایل خوانده نشد؛ دلیل به انگلیسی در بالا آمده است.", "error"), "", ""
    finally:
        shutil.rmtree(work, ignore_errors=True)


def build_evaluate_tab(get_assistant: Callable, settings=None) -> None:
    """The tab's components, created inside the caller's `with gr.Tab(...)` block."""
    import gradio as gr

    del settings  # the limits are this module's constants; kept for the caller's uniform signature
    gr.HTML(INTRO.format(rows=MAX_ROWS, rows_fa=persian_digits(str(MAX_ROWS)), kb=MAX_UPLOAD_BYTES // 1000))
    upload = gr.File(
        label="Test set · مجموعه آزمون (.csv, .xlsx, .jsonl)",
        file_types=list(SUFFIXES),
        type="filepath",
        elem_id="eval-upload",
    )
    run = gr.Button("Evaluate · ارزیابی", variant="primary", elem_id="eval-run")
    status = gr.HTML(elem_id="eval-status")
    downloads = gr.HTML(elem_id="eval-downloads")
    report = gr.HTML(elem_id="eval-report")

    def _run(path):
        first = True
        for st, dl, rep in evaluate_upload(get_assistant, path):
            # The upload was read and deleted: clear the picker with the first update.
            yield (st, dl, rep, None) if first else (st, dl, rep, gr.update())
            first = False

    run.click(_run, [upload], [status, downloads, report, upload], concurrency_limit=1, concurrency_id="evaluate")
