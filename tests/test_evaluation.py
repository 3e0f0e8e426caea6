"""Evaluation for the people who measure it (issue 17): a team's spreadsheet of questions with plain-words
references, scores without a chat model, an optional judge, run comparison, shareable reports, progress.

Over the real session index and the bundled embedding model. The only fakes are the chat models behind
FakeOpenAIServer (a real loopback HTTP server speaking the OpenAI chat protocol; no model can run here)."""

from __future__ import annotations

import csv
import http.server
import io
import json
import re
import threading
from functools import partial

import pytest
from conftest import ROOT, run_cli

from assistant.evaluation import EvalInputError, read_questions
from assistant.evaluation.compare import compare_runs, exact_mcnemar, load_run, paired_bootstrap
from assistant.evaluation.pipeline import CALIBRATION_FILE, load_calibration
from assistant.evaluation.progress import progress_reporter
from assistant.evaluation.scoring import (
    Vocabulary,
    answer_sentences,
    fact_found,
    faithfulness,
    fit_threshold,
    key_facts,
)

DATA = ROOT / "tests" / "data"
TEAM = DATA / "team_questions.csv"
PERSON = DATA / "team_questions.person.csv"


def person_verdicts() -> dict[str, bool]:
    with PERSON.open(encoding="utf-8") as fh:
        return {r["id"]: r["person_verdict"] == "correct" for r in csv.DictReader(fh)}


# The shared CLI runner, read as text, with an evaluation's longer timeout.
eval_cli = partial(run_cli, text=True, timeout=600)


# ====================================================================== reading test sets
def test_the_team_set_is_what_the_issue_asks_for():
    items = read_questions(TEAM)
    langs = [i["lang"] for i in items]
    assert len(items) == 20 and langs.count("fa") == 10 and langs.count("en") == 10
    assert sum(1 for i in items if not i["answerable"]) == 4
    assert all(i["reference"] for i in items) and any(i.get("history") for i in items)
    assert set(person_verdicts()) == {i["id"] for i in items}
    # Written for this test, not copied from evals/: no question of the team set is in our JSONL.
    ours = {
        json.loads(line)["question"] for line in (ROOT / "evals" / "questions.jsonl").read_text("utf-8").splitlines()
    }
    assert not ours & {i["question"] for i in items}


def test_csv_variants_and_xlsx_read_the_same(tmp_path):
    from openpyxl import Workbook

    rows = [
        ["ID", "Question", "Reference", "Lang", "answerable"],
        ["q1", "Which sister city of Tehran is in Cuba?", "Havana", "en", ""],
        ["q2", "پایتخت استرالیا کجاست؟", "مقاله پاسخ نمی‌دهد", "", ""],
        ["", "Who wrote Hamlet?", "anything", "", "no"],
    ]
    comma = tmp_path / "a.csv"
    comma.write_bytes(("\ufeff" + "\n".join(",".join(r) for r in rows)).encode("utf-8"))  # Excel's CSV UTF-8
    semi = tmp_path / "b.csv"
    semi.write_text("\n".join(";".join(r) for r in rows), encoding="utf-8")
    utf16 = tmp_path / "c.csv"
    utf16.write_bytes("\n".join("\t".join(r) for r in rows).encode("utf-16"))  # Excel's "Unicode text"
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    xlsx = tmp_path / "d.xlsx"
    wb.save(xlsx)
    expected = None
    for path in (comma, semi, utf16, xlsx):
        items = read_questions(path)
        got = [(i["id"], i["question"], i["reference"], i.get("lang"), i["answerable"]) for i in items]
        assert got == [
            ("q1", "Which sister city of Tehran is in Cuba?", "Havana", "en", True),
            ("q2", "پایتخت استرالیا کجاست؟", "مقاله پاسخ نمی‌دهد", None, False),
            ("row4", "Who wrote Hamlet?", "anything", None, False),
        ], path.name
        expected = expected or got


def test_our_jsonl_still_reads_with_gold_and_facts():
    items = read_questions(ROOT / "evals" / "questions.jsonl")
    assert len(items) >= 150 and all("facts" in i or not i["answerable"] for i in items)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"\n\n  \n", "the file is empty"),
        ("header-only.csv", b"question,reference\n", "no questions"),
        ("noq.csv", b"query,reference\nx,y\n", 'no "question" column'),
        ("noref.csv", b"question,notes\nx,y\n", 'no "reference" column'),
        ("latin.csv", "question,reference\nWhat is the rank?,332\u00e8me\n".encode("latin-1"), "not UTF-8 text"),
        ("cp1256.csv", "question,reference\nتهران؟,ب\n".encode("cp1256"), "not UTF-8 text"),
        ("lang.csv", b"question,reference,lang\nx,y,de\n", "lang must be fa or en"),
        ("ans.csv", b"question,reference,answerable\nx,y,maybe\n", "answerable must be yes or no"),
        ("dup.csv", b"id,question,reference\na,x,y\na,z,w\n", "used twice"),
        ("noanswer.csv", b"question,reference\nx,\n", "has no reference answer"),
        ("bad.xlsx", b"not a zip file", "not a readable .xlsx workbook"),
        ("set.txt", b"question,reference\n", "unknown kind of file"),
        ("bad.jsonl", b'{"question": "x"}\nnot json\n', "not JSON"),
    ],
)
def test_bad_test_sets_are_one_clear_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(EvalInputError) as err:
        read_questions(path)
    assert message in str(err.value) and "\n" not in str(err.value) and name in str(err.value)


def test_row_limit(tmp_path):
    path = tmp_path / "many.csv"
    path.write_text("question,reference\n" + "".join(f"q{i}?,r{i}\n" for i in range(30)), encoding="utf-8")
    assert len(read_questions(path, max_rows=30)) == 30
    with pytest.raises(EvalInputError, match="30 questions; the limit is 29"):
        read_questions(path, max_rows=29)


@pytest.mark.parametrize(
    "args, message",
    [
        (["eval", "--questions", "tests/data/nope.csv"], "no such file"),
        (["eval"], "eval needs --questions FILE"),
        (["eval", "--compare", "tests/data/nope-a", "tests/data/nope-b"], "no such run"),
    ],
)
def test_cli_maps_bad_input_to_exit_2(settings, args, message):
    out = eval_cli(settings, *args, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().count("\n") == 0 and message in out.stderr and out.stdout == ""


def test_cli_bad_spreadsheet_exits_2_before_loading_anything(settings, tmp_path):
    bad = tmp_path / "set.csv"
    bad.write_bytes("question,reference\nتهران؟,ب\n".encode("cp1256"))
    out = eval_cli(settings, "eval", "--questions", str(bad), "--report", str(tmp_path / "r"), timeout=120)
    assert out.returncode == 2 and out.stderr.startswith("assistant: set.csv: not UTF-8 text"), out.stderr
    assert not (tmp_path / "r").exists()


# ====================================================================== scores
def test_key_facts_numbers_names_and_what_the_question_already_says(store):
    vocab = Vocabulary.of(store.passages)
    facts = key_facts("Tehran was ranked 332nd in the GUCI ranking.", vocab, "What place did Tehran hold in GUCI?")
    labels = {f.label: f.hard for f in facts}
    assert labels["332"] is True and "guci" not in labels and "tehran" not in labels and "was" not in labels
    three = next(f for f in facts if f.label == "332")
    assert fact_found(three, "it held 332nd place") and fact_found(three, "رتبه ۳۳۲ را داشته")
    assert not fact_found(three, "in 1332 it ...")  # a number is not found inside a longer number
    fa = key_facts("بیش از ۱۷ شهر خواهرخوانده", vocab, "تهران چند خواهرخوانده دارد؟")
    assert [f.label for f in fa if f.hard] == ["17"]
    # With a paper profile (corpus/profile.json), a named entity is a fact in either language.
    profile = {"entities": [{"id": "havana", "type": "city", "fa": "هاوانا", "en": "Havana", "aliases": ["La Habana"]}]}
    with_profile = key_facts("Havana.", Vocabulary.of(store.passages, profile), "Which sister city is in Cuba?")
    assert len(with_profile) == 1 and with_profile[0].hard
    assert fact_found(with_profile[0], "هاوانا (کوبا) [1]") and not fact_found(with_profile[0], "Caracas")


def test_faithfulness_reads_markers_after_the_full_stop():
    cits = [
        {"n": 1, "id": "a", "text": "تهران عضو فعال این سازمان است.", "text_en": "Tehran is an active member."},
        {"n": 2, "id": "b", "text": "", "text_en": "Iran has been a member since 1989."},
    ]
    res = {
        "abstained": False,
        "citations": cits,
        "answer": "Tehran is an active member. [1] Iran has been a member since 1989. [2]",
    }
    assert answer_sentences(res["answer"]) == [
        ("Tehran is an active member.", [1]),
        ("Iran has been a member since 1989.", [2]),
    ]
    assert faithfulness(res) == 1.0
    assert faithfulness({**res, "answer": "Tehran is an active member. [1] Iran joined in 1990. [2]"}) == 0.5
    assert faithfulness({**res, "answer": "Iran has been a member since 1989. [1]"}) == 0.0  # wrong passage cited
    assert faithfulness({**res, "abstained": True}) is None


def test_threshold_fit_and_significance_arithmetic():
    assert fit_threshold([(0.9, True), (0.95, True), (0.8, False), (0.85, False)]) == (0.875, 1.0)
    t, agree = fit_threshold([(0.9, True), (0.82, True), (0.85, False), (0.7, False)])
    assert agree == 0.75
    assert exact_mcnemar(0, 5) == 0.0625 and exact_mcnemar(3, 3) == 1.0 and exact_mcnemar(0, 0) == 1.0
    assert round(exact_mcnemar(1, 9), 4) == 0.0215
    bs = paired_bootstrap([1.0] * 10 + [0.0] * 10, [1.0] * 20, rounds=2000)
    assert bs["difference"] == 0.5 and bs["ci95"][0] > 0.2 and bs["p_one_sided"] == 0.0
    assert paired_bootstrap([1.0, 0.0], [1.0, 0.0], rounds=100)["p_one_sided"] == 1.0


def test_progress_adapts_to_where_it_is_shown():
    log = io.StringIO()
    update = progress_reporter("answering", stream=log, tty=False)
    for i in range(1, 38):
        update(i, 37)
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 11  # the first, then one per 10% (the last is 100%)
    assert lines[0].startswith("answering: 1/37 questions") and lines[-1].startswith("answering: 37/37 questions (100%")
    term = io.StringIO()
    update = progress_reporter("answering", stream=term, tty=True)
    for i in range(1, 6):
        update(i, 5)
    assert "\r" in term.getvalue() and "questions" in term.getvalue() and "text/s" not in term.getvalue()


# ====================================================================== calibration
def test_similarity_cut_off_is_calibrated_on_our_labelled_set(assistant):
    from assistant.evaluation.calibrate import calibrate

    stored = load_calibration()
    assert stored, f"{CALIBRATION_FILE} is missing: run `assistant eval --calibrate --questions evals/questions.jsonl`"
    cal = calibrate(assistant, read_questions(ROOT / "evals" / "questions.jsonl"))
    print(
        "\ncalibration:", json.dumps({k: cal[k] for k in ("threshold", "agreement", "agreement_test", "n", "n_test")})
    )
    # The stored cut-off is the one this code and model fit today, and it agrees with the fact-based
    # verdict on both splits well above chance (the pairs are half positive, half negative). The test split's
    # agreement moves with the answers (0.761 -> 0.746 when a list answer came to miss one fact of four, which
    # similarity cannot see): 0.70 is the floor of "well above chance", not a figure to hold.
    assert abs(cal["threshold"] - stored["threshold"]) < 0.005 and abs(cal["agreement"] - stored["agreement"]) < 0.02
    assert cal["agreement"] >= 0.75 and cal["agreement_test"] >= 0.70
    assert 0.3 < cal["positives"] / (cal["positives"] + cal["negatives"]) < 0.7


# ====================================================================== the team set end to end (CLI)
@pytest.fixture(scope="module")
def extractive_run(settings, store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("extractive")
    out = eval_cli(
        settings, "eval", "--questions", str(TEAM), "--report", str(folder / "report"), env={"PYTHONUNBUFFERED": "1"}
    )
    assert out.returncode == 0, out.stderr
    return folder / "report", out


def test_team_spreadsheet_end_to_end_from_the_cli(extractive_run):
    report, out = extractive_run
    # Progress: not a terminal here, so plain lines, counted in questions.
    progress = [line for line in out.stderr.splitlines() if line.startswith("answering:")]
    assert progress and all("questions" in line for line in progress) and "\r" not in out.stderr
    with (report / "items.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == [i["id"] for i in read_questions(TEAM)]
    person = person_verdicts()
    agree = [r["id"] for r in rows if (r["correct"] == "True") == person[r["id"]]]
    disagree = sorted(set(person) - set(agree))
    print(f"\nagreement with the person: {len(agree)}/20; disagreements: {disagree}")
    assert len(agree) >= 18, disagree
    for r in rows:  # every figure is there for an answered, answerable item
        if r["answerable"] == "True" and r["abstained"] == "False":
            assert r["faithfulness"] and r["context_recall"] != "" and r["similarity"], r["id"]
    from openpyxl import load_workbook

    ws = load_workbook(report / "items.xlsx").worksheets[0]
    assert ws.max_row == 21 and [c.value for c in ws[1]][:3] == ["id", "lang", "question"]
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["reference"]["all"]["n"] == 20 and summary["similarity_threshold"] == load_calibration()["threshold"]


def test_html_report_is_self_contained_and_bilingual(extractive_run):
    report, _ = extractive_run
    page = (report / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "<svg" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "<script" not in page and "<link" not in page
    rows = {r["id"]: r for r in map(json.loads, (report / "items.jsonl").read_text(encoding="utf-8").splitlines())}
    failures = [i for i, r in rows.items() if not r["correct"]]
    assert failures and page.count('class="fail"') == len(failures)
    for fid in failures:  # every failure with its question, answer, reference and sources in both languages
        block = page.split(f'id="fail-{fid}"')[1].split('<div class="fail"')[0]
        r = rows[fid]
        for text in (r["question"], r["reference"]):
            assert text.split()[0] in block
        if r["sources"]:
            assert 'lang="fa" dir="rtl"' in block and 'lang="en" dir="ltr"' in block
    assert page.count('dir="rtl"') >= 10  # the Persian questions, right to left
    md = (report / "report.md").read_text(encoding="utf-8")
    assert all(f"### {fid}:" in md for fid in failures)


# ====================================================================== a fake chat model, a judge, a comparison
class FakeOpenAIServer:
    """A FAKE chat model behind a real loopback HTTP server speaking OpenAI's /v1/chat/completions. `reply`
    maps the request's messages to the text it answers; every request is recorded."""

    def __init__(self, reply):
        outer = self
        self.requests: list[dict] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                text = reply(body["messages"])
                data = json.dumps(
                    {
                        "id": "fake",
                        "object": "chat.completion",
                        "model": body.get("model", "fake"),
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                        ],
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def every_other_wrong(items: list[dict]):
    """The fake's answers: for items at even positions of the test set a wrong one (NOT_IN_PAPER where the
    reference has an answer; the first sentence of passage [1], cited, where it says the paper has none);
    for the others an unverifiable reply, so the assistant falls back to its extractive answer."""
    by_question = {i["question"]: (n, i) for n, i in enumerate(items)}

    def reply(messages):
        last = messages[-1]["content"]
        if "<passages>" not in last:  # the follow-up rewrite: nothing useful
            return "?"
        asked = last.split("<question>")[-1].split("</question>")[0].strip()
        n, item = by_question.get(asked, (1, None))
        if n % 2 == 1:
            return "?"
        if item["answerable"]:
            return "NOT_IN_PAPER"
        passages = last.split("<passages>")[-1].split("</passages>")[0]
        first = next(line for line in passages.splitlines() if line.startswith("[1]"))[3:].strip()
        sentence = re.split(r"(?<=[.؟?!])\s", first)[0]
        return f"{sentence} [1]"

    return reply


def test_compare_lists_exactly_the_changed_items(settings, store, extractive_run, tmp_path):
    report_a, _ = extractive_run
    items = read_questions(TEAM)
    server = FakeOpenAIServer(every_other_wrong(items))
    try:
        out = eval_cli(
            settings,
            "eval",
            "--questions",
            str(TEAM),
            "--report",
            str(tmp_path / "fake-llm"),
            "--backend",
            "openai",
            "--base-url",
            server.url,
            "--model",
            "fake-model",
        )
    finally:
        server.close()
    assert out.returncode == 0, out.stderr
    a = load_run(report_a)
    b = load_run(tmp_path / "fake-llm")
    sabotaged = {i["id"] for n, i in enumerate(items) if n % 2 == 0}
    for i in set(a) - sabotaged:  # the others fell back to the extractive answer: same answer, same verdict
        assert b[i]["answer"] == a[i]["answer"] and b[i]["correct"] == a[i]["correct"], i
    for i in sabotaged:
        assert not b[i]["correct"], (i, b[i]["answer"])
    expected_worse = sorted(i for i in sabotaged if a[i]["correct"])
    assert len(expected_worse) >= 6

    cmp_dir = tmp_path / "compare"
    out = eval_cli(
        settings, "eval", "--compare", str(report_a), str(tmp_path / "fake-llm"), "--report", str(cmp_dir), timeout=120
    )
    assert out.returncode == 0, out.stderr
    listed = [line.split()[1].rstrip(":") for line in out.stdout.splitlines() if re.match(r"^(better|worse) ", line)]
    assert sorted(listed) == expected_worse
    res = json.loads((cmp_dir / "compare.json").read_text(encoding="utf-8"))
    assert sorted(res["worse"]) == expected_worse and res["better"] == [] and res["same"] == 20 - len(expected_worse)
    sig = res["significance"]
    assert sig["worse"] == len(expected_worse) and sig["mcnemar_exact_p"] == round(
        exact_mcnemar(0, len(expected_worse)), 4
    )
    assert res["figures"]["accuracy"]["a"] > res["figures"]["accuracy"]["b"]
    page = (cmp_dir / "compare.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r'<tr data-id="([^"]+)">', page)) == expected_worse
    # The same comparison through the API, from the --out results files.
    direct = compare_runs(load_run(report_a / "results.jsonl"), load_run(tmp_path / "fake-llm" / "results.jsonl"))
    assert sorted(i["id"] for i in direct.changed) == expected_worse


def test_judge_adds_a_verdict_per_item_from_a_chat_model(settings, store, tmp_path):
    """--judge with the extractive answers and a FAKE judge model: it calls CORRECT when the answer holds
    the reference's first word (a rule, so the test knows what each verdict must be)."""

    def judge_reply(messages):
        text = messages[-1]["content"]
        ref = text.split("REFERENCE:")[1].split("\n")[0].strip()
        answer = text.split("ANSWER:")[1].split("\nVerdict:")[0]
        first = re.findall(r"\w+", ref)[0]
        return ("CORRECT - it says " + first) if first.lower() in answer.lower() else "INCORRECT - missing " + first

    server = FakeOpenAIServer(judge_reply)
    qs = tmp_path / "q.csv"
    qs.write_text(
        "id,question,reference\nh,Which of Tehran's sister cities is in Cuba?,Havana\n"
        "m,Which of Tehran's sister cities is in Cuba?,Manila\n"
        "n,Who is the mayor of Paris?,not in the paper\n",
        encoding="utf-8",
    )
    try:
        out = eval_cli(
            settings,
            "eval",
            "--questions",
            str(qs),
            "--report",
            str(tmp_path / "rep"),
            "--judge",
            "--base-url",
            server.url,
        )
    finally:
        server.close()
    assert out.returncode == 0, out.stderr
    rows = {r["id"]: r for r in map(json.loads, (tmp_path / "rep" / "items.jsonl").read_text("utf-8").splitlines())}
    assert rows["h"]["judge"] is True and rows["m"]["judge"] is False
    assert rows["h"]["correct"] is True and rows["m"]["correct"] is False  # the scores' own verdict, beside the judge's
    assert all("REFERENCE:" in r["messages"][-1]["content"] for r in server.requests)
    assert len(server.requests) == 2  # answerable, answered items only: the unanswerable one is not judged
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text(encoding="utf-8"))
    assert summary["reference"]["all"]["judge_accuracy"] == 0.5


def test_judge_needs_an_endpoint(settings):
    out = eval_cli(settings, "eval", "--questions", str(TEAM), "--judge", timeout=120)
    assert out.returncode == 2 and "--judge needs a chat-model endpoint" in out.stderr


# ====================================================================== the tab's handler (the browser test drives the page)
def test_tab_handler_limits_and_leaves_nothing(assistant, tmp_path, monkeypatch):
    from assistant.evaluation import tab

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    big = tmp_path / "upload" / "big.csv"
    big.parent.mkdir()
    big.write_text("question,reference\n" + "What is it?,x\n" * 100, encoding="utf-8")
    status, _, _ = list(tab.evaluate_upload(lambda: assistant, str(big), max_bytes=500))[-1]
    assert "big.csv is 1,419 bytes; the limit is 500 bytes" in status
    assert not big.exists()  # the upload is deleted even when refused
    many = tmp_path / "upload2" / "many.csv"
    many.parent.mkdir()
    many.write_text("question,reference\n" + "".join(f"Question {i}?,x\n" for i in range(5)), encoding="utf-8")
    status, _, _ = list(tab.evaluate_upload(lambda: assistant, str(many), max_rows=4))[-1]
    assert "5 questions; the limit is 4" in status and not many.exists()
    small = tmp_path / "upload3" / "two.csv"
    small.parent.mkdir()
    small.write_text(
        "id,question,reference\nh,Which of Tehran's sister cities is in Cuba?,Havana\n"
        "n,پایتخت استرالیا کجاست؟,مقاله پاسخ نمی‌دهد\n",
        encoding="utf-8",
    )
    steps = list(tab.evaluate_upload(lambda: assistant, str(small)))
    assert any("eval-progress" in s for s, _, _ in steps)
    status, links, report = steps[-1]
    assert "Accuracy 1.0" in status and 'download="two-report.html"' in links and "two-items.xlsx" in links
    assert "srcdoc=" in report and not small.exists() and list((tmp_path / "tmp").iterdir()) == []
