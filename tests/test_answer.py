"""The answer chain end to end on the real index: languages, lists, numbers, follow-ups,
abstention, verified citations, and the CLI contracts (JSON shape, exit codes)."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli

from assistant.answer import NOT_IN_PAPER, QuestionError, validate_question
from assistant.compose import Statement, verify


def cited(ans):
    return [c.id for c in ans.citations]


def test_english_question_gets_an_english_answer_from_the_translation(assistant):
    ans = assistant.ask("When was Tehran first declared a sister city of Bishkek?")
    assert ans.language == "en" and not ans.abstained
    assert "1373" in ans.answer and "[1]" in ans.answer
    assert "s6.2.p2" in cited(ans)
    assert not any("\u0600" <= ch <= "\u06ff" for ch in ans.answer)


def test_persian_question_gets_a_persian_answer_from_the_edition(assistant):
    ans = assistant.ask("تهران نخستین بار در چه سالی با بیشکک خواهرخوانده شد؟")
    assert ans.language == "fa" and not ans.abstained
    assert "۱۳۷۳" in ans.answer and "s6.2.p2" in cited(ans)


def test_mixed_script_question_is_persian(assistant):
    ans = assistant.ask("FMDV چند شهر عضو دارد؟")
    assert ans.language == "fa" and "سی شهر" in ans.answer and "t1.r5" in cited(ans)


def test_lang_override(assistant):
    ans = assistant.ask("FMDV چند شهر عضو دارد؟", lang="en")
    assert ans.language == "en" and "Thirty cities" in ans.answer and "FMDV" in ans.answer


def test_list_is_complete_and_filtered_by_region(assistant):
    ans = assistant.ask("Which of Tehran's sister cities are in Africa?")
    assert sorted(c.id for c in ans.citations if c.row) == ["t2.r19", "t2.r2", "t2.r8"]
    for city in ("Pretoria", "Khartoum", "Tunis"):
        assert city in ans.answer
    assert "Moscow" not in ans.answer


def test_list_filtered_by_agreement_kind_in_persian(assistant):
    ans = assistant.ask("تهران با کدام شهرها هنوز در مرحله رایزنی برای قرارداد خواهرشهری است؟")
    assert sorted(c.id for c in ans.citations if c.row) == ["t2.r18", "t2.r19"]
    assert "دمشق" in ans.answer and "تونس" in ans.answer


@pytest.mark.parametrize(
    "question, rows",
    [
        # A sister-city agreement is not "in consultation towards a sister-city agreement" (both were listed).
        ("Which cities have a sister-city agreement with Tehran?", range(1, 18)),
        ("تهران با کدام شهرها قرارداد خواهرشهری امضا کرده است؟", range(1, 18)),
        # An alias names a status however the cell words it: "MoU", «تفاهم‌نامه» for «یادداشت تفاهم».
        ("Which cities does Tehran have an MoU with?", range(20, 24)),
        ("تهران با کدوم شهرا تفاهم‌نامه داره؟", range(20, 24)),
        # Two statuses asked together: both kinds of rows.
        ("Which cities has Tehran signed sister-city agreements or memoranda with?", [*range(1, 18), *range(20, 24)]),
        # A status named makes a list of the rows of that status, whatever the classifier reads.
        ("تهرون هنوز با کدوم شهرا داره مذاکره می‌کنه که خواهرخونده بشن؟", range(18, 20)),  # was a paragraph
        ("Which cities is Tehran still negotiating with?", range(18, 20)),
        # A status negated: every other status's rows.
        ("Which cities have no sister-city agreement with Tehran?", range(18, 24)),
        ("تهران با کدام شهرها هنوز قرارداد خواهرشهری ندارد؟", range(18, 24)),
    ],
)
def test_a_list_by_status_holds_the_rows_of_that_status(assistant, question, rows):
    """A row has one status, the one its cell opens with, and a status is named by any of its aliases: the rows
    whose cell spelled an alias were kept before, so "MoU" (spelled in no cell) filtered nothing, «تفاهم‌نامه» kept
    Kabul's «تفاهم‌نامه همکاری» alone, and "sister-city agreement" kept the two rows still in consultation."""
    ans = assistant.ask(question)
    got = sorted(int(c.id.split(".r")[1]) for c in ans.citations if c.row and c.id.startswith("t2."))
    assert got == sorted(rows), (got, ans.answer[:300])


@pytest.mark.parametrize(
    "question, kind, rows",
    [
        # A group named in a condition or as what another is of qualifies it (both were "named": no filter, and
        # a paragraph saying "the results have been made clear" was the answer).
        ("What are the positive results for Tehran if the recommendations are realised?", "t6", range(8, 15)),
        ("اگر توصیه‌های مقاله اجرا شود، چه فایده‌ای برای تهران دارد؟", "t6", range(8, 15)),
        ("What are the benefits of the recommendations for Tehran?", "t6", range(8, 15)),
        # Named together: both.
        ("What are the opportunities and challenges for Tehran?", "t5", range(1, 16)),
    ],
)
def test_a_list_holds_the_group_asked_for_not_the_one_that_qualifies_it(assistant, question, kind, rows):
    """Of two kinds of rows a question names, the one asked for: not the condition, not what it is of."""
    ans = assistant.ask(question)
    got = sorted(int(c.id.split(".r")[1]) for c in ans.citations if c.row and c.id.startswith(kind + "."))
    assert got == list(rows), (got, ans.answer[:300])


@pytest.mark.parametrize(
    "question, abstains",
    [
        ("Who is the current mayor of Tehran?", True),
        ("شهردار فعلی تهران کیه؟", True),
        ("Which mayor proposed the Asian Mayors Forum? What was his name?", True),  # a person's name, asked late
        ("Who proposed the Asian Mayors Forum?", False),  # "the Mayor of Tehran" answers who did it
        ("مجمع شهرداران آسیایی رو کی پیشنهاد داد؟", False),
    ],
)
def test_who_someone_is_needs_a_name_not_the_title_the_question_gives(assistant, question, abstains):
    """ "Who is the current mayor of Tehran?" was answered with the row saying the forum was founded "at the
    proposal of the Mayor of Tehran": asked who holds a title, the title is no answer; asked who did something,
    it is."""
    ans = assistant.ask(question)
    assert ans.abstained is abstains, (ans.answer[:200], ans.evidence.get("abstain_reasons"))
    if not abstains:
        assert cited(ans)[:1] == ["t3.r6"]


def test_all_policy_recommendations_listed(assistant):
    ans = assistant.ask("What policy recommendations does the paper make?")
    rows = [c.id for c in ans.citations if c.row]
    assert rows == [f"t6.r{i}" for i in range(1, 8)]
    assert "World Bank" in ans.answer and "\n- " in ans.answer


def test_followup_uses_the_conversation(assistant):
    first = "Which cities are Tehran's sister cities?"
    ans = assistant.ask(
        "And which of them are in Europe?",
        history=[{"role": "user", "content": first}, {"role": "assistant", "content": "..."}],
    )
    for city in ("Moscow", "Minsk", "London", "Paris", "Milan"):
        assert city in ans.answer
    assert "Havana" not in ans.answer
    fa = assistant.ask(
        "اهداف این سازمان چیست؟",
        history=[{"role": "user", "content": "UCLG چیست؟"}, {"role": "assistant", "content": "..."}],
    )
    assert "صدایی واحد" in fa.answer and "t1.r4" in cited(fa)


@pytest.mark.parametrize(
    "question",
    [
        "What is the population of Tokyo?",
        "هوای تهران فردا بارانی است؟",
        "In which year was the Hanoi agreement signed?",
        # A known near-miss failure of the calibrated decision (issue 13 stays open; see README "Evaluation"):
        # the asked "budget" is a word the paper never uses, but the decision weighs it too lightly. Abstained
        # on after the refit of 2026-11-29, answered with Table 6 after the one of 2026-11-30 (threshold
        # 0.255 -> 0.205; dev, test and rewordings better on the whole). Strict: a fix shows as a failure here.
        pytest.param(
            "What budget does the paper propose for implementing its recommendations?",
            marks=pytest.mark.xfail(strict=True, reason="known near-miss failure (issue 13)"),
        ),
        "How many members did UCLG have in 2020?",
    ],
)
def test_abstains_plainly_when_the_paper_does_not_say(assistant, question):
    ans = assistant.ask(question)
    assert ans.abstained and not ans.citations
    assert ans.answer.startswith(NOT_IN_PAPER[ans.language])
    # A name or figure the paper never uses is named back ("It never mentions Tokyo."); otherwise the plain form.
    said = ans.evidence.get("not_said")
    assert ans.answer == NOT_IN_PAPER[ans.language] if not said else all(w in ans.answer for w in said[1:])
    assert ans.evidence.get("abstain_reasons")


def test_every_citation_is_verified_against_its_passage(assistant):
    for q in [
        "What is Tehran's rank in the GUCI index?",
        "کدام خواهرشهرهای تهران در اروپا هستند؟",
        "What challenges does Tehran face in city diplomacy?",
    ]:
        ans = assistant.ask(q)
        assert ans.citations
        for c in ans.citations:
            p = assistant.store.by_id[c.id]
            assert c.text == p.text and c.text_en == p.text_en
            for part in c.quote.split(" … "):  # a statement may join exact spans of one passage
                assert part in (p.text if ans.language == "fa" else p.text_en)
            assert f"[{c.n}]" in ans.answer


def test_verification_drops_invented_and_unretrieved_citations(assistant):
    p = assistant.store.by_id["t2.r16"]
    good = Statement("Hanoi (Vietnam)", p)
    invented = Statement("Hanoi (Vietnam) — signed in 1999", p)  # not in the passage
    unretrieved = Statement("Hanoi (Vietnam)", assistant.store.by_id["t2.r17"])
    kept = verify([good, invented, unretrieved], {"t2.r16"}, "en")
    assert kept == [good]


@pytest.mark.parametrize("bad", ["", "   \n\t", "\u200b\u200c\u202e", "؟؟؟", "x" * 2001])
def test_bad_questions_are_refused_with_a_reason(bad, settings):
    with pytest.raises(QuestionError) as exc:
        validate_question(bad, settings)
    assert "\n" not in str(exc.value)


# ---------------------------------------------------------------------- the CLI contracts
def test_ask_json_contract(settings, store):
    out = run_cli(settings, "ask", "--json", "Which Table 2 city is in Vietnam?")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert {"question", "answer", "language", "abstained", "citations", "latency_ms"} <= set(obj)
    assert obj["language"] == "en" and obj["abstained"] is False and "Hanoi" in obj["answer"]
    c = obj["citations"][0]
    assert {"id", "kind", "section", "table", "row", "page", "text", "text_en"} <= set(c)
    assert (c["id"], c["kind"], c["table"], c["row"]) == ("t2.r16", "table_row", 2, 16)
    assert "هانوی" in c["text"] and "Hanoi" in c["text_en"]


@pytest.mark.parametrize(
    "args, stdin",
    [
        (["ask", ""], None),
        (["ask", "   "], None),
        (["ask", "-"], b"\xff\xfe\xfa not utf-8"),
        (["ask", "x" * 100_000], None),
        (["ingest", "/nonexistent/file.pdf"], None),
        (["eval", "--questions", "/nonexistent.jsonl", "--out", "/tmp/x.jsonl"], None),
        (["ask", "--lang", "de", "hello"], None),
    ],
)
def test_bad_input_exits_2_with_one_line(settings, store, args, stdin):
    out = run_cli(settings, *args, stdin=stdin)
    assert out.returncode == 2, (out.returncode, out.stderr)
    err = out.stderr.decode().strip()
    assert err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("assistant:")]) <= 1


def test_question_from_stdin(settings, store):
    out = run_cli(settings, "ask", "--json", "-", stdin="رتبه تهران در شاخص GUCI چند است؟".encode())
    assert out.returncode == 0 and "۳۳۲" in json.loads(out.stdout)["answer"]


def test_abstention_exits_0(settings, store):
    out = run_cli(settings, "ask", "--json", "Who won the 2018 FIFA World Cup?")
    assert out.returncode == 0 and json.loads(out.stdout)["abstained"] is True


def test_help_is_instant_and_imports_nothing_heavy():
    code = (
        "import sys, runpy; sys.argv=['assistant','--help']\n"
        "try:\n runpy.run_module('assistant', run_name='__main__')\nexcept SystemExit: pass\n"
        "heavy=[m for m in ('gradio','torch','chromadb','sentence_transformers','langchain_core') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_recommendations_command(settings, store):
    out = run_cli(settings, "recommendations", "--lang", "en", "--json")
    assert out.returncode == 0, out.stderr
    groups = json.loads(out.stdout)
    assert [len(v) for v in groups.values()] == [7, 7]
    assert any("World Bank" in it["item"] for items in groups.values() for it in items)


def test_eval_command_writes_one_line_per_question(settings, store, tmp_path):
    qs = tmp_path / "q.jsonl"
    qs.write_text(
        "\n".join(
            json.dumps(x, ensure_ascii=False)
            for x in [
                {
                    "id": "a",
                    "question": "Which city in Vietnam is a sister city of Tehran?",
                    "gold": ["t2.r16"],
                    "facts": [["Hanoi"]],
                },
                {
                    "id": "b",
                    "question": "و در اروپا؟",
                    "history": [{"role": "user", "content": "خواهرشهرهای تهران کدامند؟"}],
                },
                {"id": "c", "question": "What is the capital of Australia?", "answerable": False},
            ]
        ),
        encoding="utf-8",
    )
    out_file = tmp_path / "out.jsonl"
    out = run_cli(settings, "eval", "--questions", str(qs), "--out", str(out_file), "--report", str(tmp_path / "rep"))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "c"]
    assert rows[2]["abstained"] is True and "Hanoi" in rows[0]["answer"]
    assert (tmp_path / "rep" / "report.md").exists() and (tmp_path / "rep" / "slices.png").exists()


def test_feedback_becomes_candidate_items(tmp_path):
    from assistant.candidates import candidates_from_feedback

    fb = tmp_path / "feedback.jsonl"
    fb.write_text(
        "\n".join(
            [
                json.dumps(
                    {"question": "Who chairs UCLG?", "answer": "…", "rating": "down", "correction": "Not in the paper"}
                ),
                json.dumps({"question": "Which sister cities are in Africa?", "answer": "…", "rating": "up"}),
                json.dumps({"question": "who chairs  UCLG?", "answer": "…", "rating": "down"}),  # same question again
                "{torn line",
            ]
        ),
        encoding="utf-8",
    )
    items = candidates_from_feedback(fb, set())
    assert [i["question"] for i in items] == ["Who chairs UCLG?"]
    assert items[0]["review"]["correction"] == "Not in the paper" and items[0]["lang"] == "en"


def test_a_row_is_read_under_the_headers_of_its_filled_cells(assistant, store):
    """A row's template may leave a column's header unsaid ("Khartoum (Sudan)"): the row still carries
    "country", so a two-part question gets the row that answers its second part as well."""
    from assistant.answer import Turn
    from assistant.query import content_terms, stem
    from assistant.types import Hit

    role = assistant.composer.profile.tables[2]
    assert "row" not in role.described_columns() and role.status_column not in role.described_columns()
    row = next(p for p in store.passages if p.kind == "table_row" and p.table == 2)
    assert "country" not in row.text_en.lower()
    question = f"Under which country does the paper list {row.cells['city']['en']}?"
    terms = {stem(t) for t in content_terms(question)}
    turn = assistant._retrieve(assistant._condense(assistant._prepare(Turn(question=question, history=[]))))
    a = turn.analysis
    cands = assistant.composer.facts.collector.candidates(terms, terms, a, [Hit(passage=row, score=1.0)], question)
    assert stem("country") in cands[0].matched
    ans = assistant.ask(
        f"Is {row.cells['city']['en']} one of Tehran's twin cities, and under which country is it listed?"
    )
    assert row.cells["country"]["en"] in ans.answer and row.id in [c.id for c in ans.citations]


@pytest.mark.parametrize(
    "question, rows",
    [
        ("سازمان متروپلیس عضو بیشتری دارد یا مجمع شهرداران برای صلح؟", ["t1.r6", "t1.r9"]),
        ("Which reaches more countries: UNDP or UN-Habitat?", ["t1.r3", "t1.r2"]),
    ],
)
def test_a_comparison_cites_each_sides_own_row(assistant, question, rows):
    """Each side of "X or Y" is answered by evidence about that side alone, the row that fills the compared
    column (members, reach), not a sentence that lists both names and no figure."""
    ans = assistant.ask(question)
    assert not ans.abstained and [c.id for c in ans.citations] == rows


@pytest.mark.parametrize(
    "question, said",
    [
        (
            "Which weapons does Mayors for Peace campaign to eliminate, and how many members does the IMF count?",
            "nuclear",
        ),
        ("مجمع شهرداران برای صلح با چند عضو، برای نابودی چه سلاح‌هایی تلاش می‌کند؟", "سلاح‌های اتمی"),
    ],
)
def test_a_row_is_quoted_whole_when_the_question_asks_what_another_cell_says(assistant, question, said):
    """ "How many members" names the reach column, but "weapons" is what the goals cell of the same row says: the
    answer quotes the whole row, not the member count alone. A question about the reach alone still gets it."""
    ans = assistant.ask(question)
    assert not ans.abstained and "t1.r9" in [c.id for c in ans.citations]
    assert said in ans.answer, ans.answer
    brief = assistant.ask("How many members does Mayors for Peace have?")
    assert "5551" in brief.answer and "nuclear" not in brief.answer, brief.answer


@pytest.mark.parametrize(
    "question",
    [
        "Which newcomers to diplomacy do Blank and Cools name?",
        "Which newcomers on the diplomatic scene do Blank and Cools list?",
        "از نظر بلنک و کولز چه تازه‌واردهایی به صحنه دیپلماسی آمده‌اند؟",
    ],
)
def test_a_list_the_text_gives_in_prose_gets_the_sentences_around_the_best(assistant, question):
    """A list asked of a paragraph (no table lists it) is answered like an explanation: the best sentence and
    its strong neighbours, in order. The sentence naming the researchers and the one naming the new actors score
    alike; the one that lists them must be in the answer."""
    ans = assistant.ask(question)
    assert not ans.abstained and [c.id for c in ans.citations] == ["s1.p1"]
    assert "NGO" in ans.answer, ans.answer


def test_a_word_that_names_a_table_does_not_turn_a_paragraph_question_into_its_list(assistant):
    """'position' also names what a table lists (a standing in organisations); retrieval finds the answer in the
    text, not in that table, so the answer is the paragraph's sentences, not the table's rows."""
    ans = assistant.ask("What keeps Tehran from reaching a fitting position in city diplomacy?")
    assert not ans.abstained
    assert ans.citations and all(c.kind == "paragraph" for c in ans.citations), [c.id for c in ans.citations]


@pytest.mark.parametrize(
    "question",
    [
        "Among Tehran's challenges, which one has to do with America?",
        "از میان چالش‌های تهران، کدام یک به آمریکا مربوط است؟",
    ],
)
def test_a_list_is_narrowed_to_the_row_that_names_what_the_question_names(assistant, question):
    """The country is said in the row's text, not in a place column: the row that names it is the answer,
    not every challenge (retrieval alone does not rank that row high)."""
    ans = assistant.ask(question)
    assert not ans.abstained and cited(ans) == ["t5.r11"]


def test_a_word_shared_with_one_row_does_not_narrow_a_whole_list_question(assistant):
    """'influencing' also occurs in one organisation's row; retrieval ranks the table and the paragraph that
    name all ten above it, so the answer names them all instead of that one row."""
    ans = assistant.ask(
        "Name the important international organisations influencing urban management according to the paper."
    )
    assert not ans.abstained and cited(ans) != ["t1.r6"]
    named = ["Islamic Capitals", "UN-Habitat", "Development Programme", "United Cities", "World Bank", "Monetary Fund"]
    assert sum(n in ans.answer for n in named) == len(named), ans.answer


@pytest.mark.parametrize(
    "question",
    [
        "مجمع شهرداران آسیایی در جدول ۴ و ۵ چه نقشی دارد؟",
        "What part does the Asian Mayors Forum play in Tables 4 and 5?",
    ],
)
def test_a_question_naming_two_tables_is_answered_from_each(assistant, question):
    """The forum is a row of four tables; the two named are read, one row each, in the order named."""
    ans = assistant.ask(question)
    assert not ans.abstained and cited(ans) == ["t4.r12", "t5.r8"]


def test_a_list_over_two_named_tables_lists_each_tables_group(assistant):
    ans = assistant.ask(
        "Which items appear among the necessities in Table 4 and among the positive results in Table 6?"
    )
    rows = [c for c in ans.citations if c.kind == "table_row"]
    assert {c.table for c in rows} == {4, 6}
    assert all("necessities" in c.text_en for c in rows if c.table == 4)
    assert all("Positive result" in c.text_en for c in rows if c.table == 6) and len(rows) == 14


def test_a_followups_it_is_the_organisation_named_before(assistant):
    """ "it" is UCLG, named only in the earlier question: the evidence must speak of UCLG, not of another
    organisation Tehran is involved in."""
    history = [{"role": "user", "content": "How many members does UCLG have?"}, {"role": "assistant", "content": "…"}]
    ans = assistant.ask("And how is Tehran involved in it?", history)
    assert not ans.abstained and "UCLG" in ans.answer, ans.answer


@pytest.mark.parametrize("question", ["What does the paper put forward here?", "مقاله در این باره چه می‌گوید؟"])
def test_a_tables_own_passage_alone_is_answered_with_its_rows(assistant, question):
    """When the only evidence is a table's own passage (its title and source), the answer is what the table
    lists, not its title: for every table of the profile, in both languages (all six were answered with the
    title alone before)."""
    from assistant.types import Hit

    engine = assistant._current_engine()
    composer = engine.composer
    vec = engine.store.embeddings.embed_query(question)
    a = engine.analyzer.analyse(question, vec)
    terms = set(a.terms)
    for table in sorted(composer.lists.by_table):
        hits = [Hit(engine.store.by_id[f"t{table}"], 1.0)]
        fact = composer.facts.answer(terms, terms, a, hits, question, vec)
        chosen = composer._fact_or_list(fact, a, question, question, hits)
        rows = [st.passage.id for st in chosen.statements if st.passage.kind == "table_row"]
        assert chosen.kind == "list" and rows and all(r.startswith(f"t{table}.r") for r in rows), (table, rows)


@pytest.mark.parametrize(
    "question",
    ["How does city diplomacy shift who is in charge of foreign relations?", "هدف دیپلماسی شهری چیست؟"],
)
def test_the_rerankers_probability_weighs_which_passage_answers(assistant, question):
    """Two passages of one section that both speak to the question, in the same retrieval order: the one the
    reranker gives the higher probability of being evidence supplies the best sentence (the rank alone chose
    the first both times before)."""
    from assistant.query import content_terms, stem
    from assistant.types import Hit

    engine = assistant._current_engine()
    collector = engine.composer.facts.collector
    vec = engine.store.embeddings.embed_query(question)
    a = engine.analyzer.analyse(question, vec)
    terms = {stem(t) for t in content_terms(question)}
    first, second = engine.store.by_id["s3.p1"], engine.store.by_id["s3.p2"]
    best = []
    for p1, p2 in ((0.9, 0.1), (0.1, 0.9)):
        hits = [Hit(first, 1.0, confidence=p1), Hit(second, 0.5, confidence=p2)]
        found = collector.candidates(terms, terms, a, hits, question, vec)
        best.append(max(found, key=lambda c: c.score).passage.id)
    assert best == ["s3.p1", "s3.p2"], best


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_a_number_the_question_states_or_a_rows_heading_is_no_answer(assistant, lang):
    """A "how many" question whose evidence states no number but the question's own, or only the row's own
    "Table N, row M", lacks what it asks (the decision's type_missing): both counted as the answer before
    (the heading of the row's other rendering was read inside the joined text). The row's own figure, not
    given by the question, still answers."""
    from assistant.compose.decision import _type_missing
    from assistant.types import Composition, Statement

    engine = assistant._current_engine()
    by_id = engine.store.by_id

    def missing(question: str, pid: str) -> float:
        p = by_id[pid]
        a = engine.analyzer.analyse(question, engine.store.embeddings.embed_query(question))
        chosen = Composition([Statement(p.text_in(lang), p)], False, kind="fact")
        return _type_missing(a, chosen, [])

    # Table 2's rows state no figure: only their headings hold digits.
    assert missing("How many residents does Beijing have?", "t2.r12") > 0
    assert missing("پکن چند نفر جمعیت دارد؟", "t2.r12") > 0
    # Table 1, row 7's only figure is the World Bank's 184 member countries.
    assert missing("The World Bank has 184 member countries; how many people does it employ?", "t1.r7") > 0
    assert missing("بانک جهانی ۱۸۴ کشور عضو دارد؛ چند نفر کارمند دارد؟", "t1.r7") > 0
    assert missing("How many member countries does the World Bank have?", "t1.r7") == 0
    assert missing("بانک جهانی چند کشور عضو دارد؟", "t1.r7") == 0


def test_a_count_the_question_states_is_no_count_of_what_it_asks(assistant):
    """The count check (the decision's count_missing) reads the evidence without the numbers the question
    states: "of UN-Habitat's 95 technical programmes, how many ..." is not answered by "95 technical
    programmes" (it was, and the partitive "how many of ..." took "of un" for the counted noun). The row's
    own count still answers a question that does not state it."""
    from assistant.compose.decision import count_missing_in
    from assistant.types import Composition, Statement

    engine = assistant._current_engine()
    row = engine.store.by_id["t1.r2"]

    def missing(question: str) -> bool:
        a = engine.analyzer.analyse(question, engine.store.embeddings.embed_query(question))
        return count_missing_in(a, Composition([Statement(row.text_in(a.lang), row)], False, kind="fact"))

    assert engine.analyzer.analyse("How many of UN-Habitat's 95 technical programmes run in Iran?").counted == (
        "technical programmes"
    )
    assert missing("How many of UN-Habitat's 95 technical programmes run in Iran?")
    assert missing("برنامه اسکان بشر ۹۵ برنامه فنی دارد؛ چند برنامه فنی آن در ایران است؟")
    assert not missing("How many technical programmes does UN-Habitat run?")
    assert not missing("برنامه اسکان بشر چند برنامه فنی دارد؟")
    # An amount asked ("how much money", «چه مقدار بودجه») is a count of that thing; "how much does" is not.
    assert missing("How much money does UN-Habitat spend in Iran?")
    assert missing("برنامه اسکان بشر چه مقدار بودجه دارد؟")
    assert engine.analyzer.analyse("How much does UN-Habitat do in Iran?").counted is None


@pytest.mark.parametrize(
    "question, missing",
    [
        ("How many states belong to the IMF?", False),  # its row counts "184 member countries"
        ("How many nations are in the World Bank?", False),
        ("بانک جهانی چند ملت عضو دارد؟", False),
        ("How many employees does the IMF have?", True),
    ],
)
def test_a_row_counts_what_its_measure_column_is_named_for(assistant, question, missing):
    """A noun that names a table's measure column ("states", "nations" for member countries) is counted by the row's
    number in that column: the count feature fired on these ("no such count") and they were answered only at even
    odds (p 0.41-0.45); a noun the column is not named for is still not counted."""
    ans = assistant.ask(question)
    assert ans.evidence["features"]["count_missing"] == float(missing), ans.evidence["features"]
    if not missing:
        assert not ans.abstained and ans.evidence["p_answer"] > 0.6


@pytest.mark.parametrize(
    "question, row",
    [
        ("مجمع شهرداران آسیایی چند عضو داره؟", "t1.r8"),
        ("How many members does FMDV have?", "t1.r5"),
        ("How many cities belong to Mayors for Peace?", "t1.r9"),
    ],
)
def test_a_count_is_read_from_the_row_of_the_thing_named(assistant, question, row):
    """ "How many members does <organisation> have?" is answered from that organisation's row even when the row
    counts its members in other words ("about fifty Asian cities") and another organisation's row says "members":
    the sentences that count the noun asked were preferred before the name (the answers were another
    organisation's members or cities)."""
    ans = assistant.ask(question)
    assert not ans.abstained and cited(ans)[:1] == [row], (ans.answer, cited(ans))


def test_the_profiles_words_are_words_the_paper_uses(assistant):
    """The words a profile gives for a table's rows, groups and columns ("size" of a membership) are known words:
    "What is the size of the IMF's membership?" abstained, "size" being a word the paper never uses."""
    a = assistant._current_engine().analyzer.analyse("What is the size of the IMF's membership?")
    assert "size" not in a.unknown
    ans = assistant.ask("What is the size of the IMF's membership?")
    assert not ans.abstained and cited(ans)[:1] == ["t1.r10"], (ans.answer[:200], ans.evidence.get("abstain_reasons"))


def test_how_much_is_an_interrogative_not_a_word_the_paper_lacks(assistant):
    """«چه مقدار» ("how much") asks an amount: «مقدار» is not reported as a word the paper never uses."""
    a = assistant._current_engine().analyzer.analyse("صندوق جهانی توسعه شهرها چه مقدار منابع مالی دارد؟")
    assert "مقدار" not in a.unknown and a.counted


@pytest.mark.parametrize(
    "question, rated, expected",
    [
        # A question whose answer is two rows that retrieval rates alike: both (one row before).
        (
            "How does Table 3 describe Tehran's ties with the UN programmes?",
            {"t3.r2": 0.95, "t3.r3": 0.9},
            {"t3.r2", "t3.r3"},
        ),
        (
            "جدول ۳ روابط تهران با برنامه‌های سازمان ملل را چگونه توصیف می‌کند؟",
            {"t3.r2": 0.9, "t3.r3": 0.8},
            {"t3.r2", "t3.r3"},
        ),
        # A row rated far below the best stays out.
        ("How does Table 3 describe Tehran's ties with the UN programmes?", {"t3.r2": 0.95, "t3.r3": 0.3}, {"t3.r2"}),
        # One number asked: one row, however alike the others are rated.
        ("How many member countries does the World Bank have?", {"t1.r7": 0.95, "t1.r10": 0.9}, {"t1.r7"}),
        # The question and its row name UNDP: a row that does not name it stays out.
        ("What does Table 3 say about Tehran and UNDP?", {"t3.r3": 0.95, "t3.r2": 0.9}, {"t3.r3"}),
    ],
)
def test_rows_retrieval_rates_alike_answer_together(assistant, question, rated, expected):
    """When the best evidence is one table row and retrieval (the reranker) rates other rows of that table
    about as likely to be evidence, they answer together; not for a one-value question, not far-below rows,
    and not rows that miss the name the question and the best row share."""
    from assistant.query import content_terms, stem
    from assistant.types import Hit

    engine = assistant._current_engine()
    composer = engine.composer
    vec = engine.store.embeddings.embed_query(question)
    a = engine.analyzer.analyse(question, vec)
    terms = {stem(t) for t in content_terms(question)}
    hits = [Hit(engine.store.by_id[pid], 1.0 / (i + 1), confidence=c) for i, (pid, c) in enumerate(rated.items())]
    fact = composer.facts.answer(terms, terms, a, hits, question, vec)
    chosen = composer._fact_or_list(fact, a, question, question, hits)
    rows = {st.passage.id for st in chosen.statements if st.passage.kind == "table_row"}
    assert rows == expected, (a.qtype, chosen.kind, rows)


@pytest.mark.parametrize(
    "question",
    ["Name the organisations with more than 150 member states.", "Organisations present in more than 150 countries?"],
)
def test_a_bound_on_a_number_asks_for_the_rows_that_pass_it(assistant, question):
    """A bound ("more than 150 ...") on the numbers a named kind of row has is a list question, whatever the
    answer-type classifier reads in it (a number, from the figure): the table's rows that pass the bound. Both
    were left to a one-sentence fact answer before."""
    from assistant.answer import Turn

    turn = assistant._retrieve(assistant._condense(assistant._prepare(Turn(question=question, history=[]))))
    lists = assistant._current_engine().composer.lists
    assert lists.table_for(turn.analysis, question, question, turn.hits) == 1
    ans = assistant.ask(question)
    rows = [c.id for c in ans.citations if c.kind == "table_row"]
    # The World Bank and the IMF (184 member countries) pass; the fund of thirty cities and the forum of about
    # fifty do not. (The bound is not read with its unit: a cell's largest figure of anything counts.)
    assert {"t1.r7", "t1.r10"} <= set(rows) and "t1.r5" not in rows and "t1.r8" not in rows, rows


@pytest.mark.parametrize(
    "earlier, question",
    [
        ("Why does the paper say Tehran needs city diplomacy?", "And the rationale behind this insistence?"),
        ("چرا مقاله بر دیپلماسی شهری برای تهران تأکید می‌کند؟", "انگیزه این پافشاری‌شون چیه؟"),
    ],
)
def test_a_followup_in_words_the_paper_never_uses_is_not_ruled_off_topic(assistant, earlier, question):
    """Most of a follow-up's own words may be ones the paper never uses ("rationale", "insistence"): it is read
    with the turn it follows, so the hard "mostly unknown words" check does not rule it off-topic (the weighed
    decision still decides). Asked alone, the same words are ruled off-topic. The decision is switched off here
    (always answer) so that only the hard checks can abstain."""
    import copy

    from assistant.answer import Turn
    from assistant.calibration import Calibration

    history = [{"role": "user", "content": earlier}, {"role": "assistant", "content": "…"}]
    composer = copy.copy(assistant._current_engine().composer)
    composer.calibration = Calibration({}, 0.0, 0.0)
    verdicts = []
    for hist in (history, []):
        turn = assistant._retrieve(assistant._condense(assistant._prepare(Turn(question=question, history=hist))))
        comp = composer.compose(turn.question, turn.query, turn.analysis, turn.hits, query_vec=turn.query_vec)
        verdicts.append(comp.abstained)
    assert verdicts == [False, True], verdicts


@pytest.mark.parametrize(
    "question",
    ["Why is the air in Tehran so polluted in winter?", "What are the main causes of traffic jams in Tehran?"],
)
def test_naming_the_documents_subject_does_not_make_a_question_look_answered(assistant, question):
    """The answerability classifier reads questions without the document's subject (profile `subject`): every
    key names Tehran and the everyday off-topic forms never do, so the name made everyday questions about
    Tehran look like the paper's (P(answered) 0.82 and 0.75 for these two before; 0.50 and 0.54 now)."""
    from assistant.answer import answerability_signals

    engine = assistant._current_engine()
    vec = engine.store.embeddings.embed_query(question)
    signals = answerability_signals(engine.store, vec, question, profile=engine.analyzer.profile)
    assert signals["learned"] < 0.6, signals["learned"]
    profile = engine.analyzer.profile
    assert profile.without_subject("فردا تهرون بارون میاد؟ Tehran's air") == "فردا   بارون میاد؟  's air"


@pytest.mark.parametrize(
    "question, rows",
    [
        ("How do Metropolis and the Asian Mayors Forum differ in membership?", {"t1.r6", "t1.r8"}),
        ("سازمان متروپلیس و مجمع شهرداران آسیایی از نظر شمار اعضا چه فرقی دارند؟", {"t1.r6", "t1.r8"}),
        ("Compare the reach of UNDP with that of the Global Fund for Cities Development", {"t1.r3", "t1.r5"}),
    ],
)
def test_each_thing_the_question_names_gets_its_own_evidence(assistant, question, rows):
    """Two things named without "or" ("X and Y", "X with that of Y"): the evidence about one does not answer
    for the other; each one's own row of the compared column joins (not a sentence naming it in passing)."""
    ans = assistant.ask(question)
    assert not ans.abstained and rows <= set(cited(ans)), cited(ans)


@pytest.mark.parametrize(
    "question, rows, said",
    [
        (
            "What does Table 1 say the World Bank does about disputes with foreign investors, and what does the "
            "Global Fund for Cities Development try to do about money?",
            {"t1.r5", "t1.r7"},
            ["arbitration", "financial resources"],
        ),
        (
            "طبق جدول ۱ بانک جهانی درباره اختلاف با سرمایه‌گذاران خارجی چه می‌کند و صندوق جهانی توسعه شهرها "
            "درباره پول چه می‌کند؟",
            {"t1.r5", "t1.r7"},
            ["داوری", "منابع اندک مالی"],
        ),
    ],
)
def test_rows_the_question_names_survive_narrowing_and_say_what_they_hold(assistant, question, rows, said):
    """A word one named row shares with the question ("disputes") does not drop the other named row; a list of
    rows the question names itself quotes what they say, not only the names the user already gave."""
    ans = assistant.ask(question)
    assert not ans.abstained and rows <= set(cited(ans)), cited(ans)
    assert all(s in ans.answer for s in said), ans.answer


def test_a_two_part_question_is_answered_with_the_sentence_for_each_part(assistant):
    """ "What kind of act is twinning, and what network do sister cities form today?": the passage's sentence
    that carries the part not yet answered joins (it scores well below the best sentence), in the paper's order."""
    ans = assistant.ask("خواهرشهری از نگاه مقاله چه جور حرکتی است و خواهرشهرها امروز چه شبکه‌ای را می‌سازند؟")
    assert not ans.abstained and "نمادین" in ans.answer and "غیرانتفاعی" in ans.answer, ans.answer
    assert ans.answer.index("نمادین") < ans.answer.index("غیرانتفاعی")  # the paper's order


def test_the_next_fact_is_the_one_that_adds_what_is_not_yet_said(assistant):
    """Greedy cover: of two further candidates, the one carrying the question's other part wins over a higher
    scored one that repeats the part already answered."""
    from assistant.types import Candidate

    engine = assistant._current_engine()
    facts, by_id = engine.composer.facts, {p.id: p for p in engine.store.passages}
    p = by_id["s5.p1"]
    best = Candidate(1.0, 0.5, "a", p, {"فراتحلیل", "ارزشیاب"}, 0)
    repeat = Candidate(0.9, 0.5, "b", p, {"فراتحلیل", "داده"}, 1)
    other = Candidate(0.5, 0.5, "c", p, {"گونه‌شناس", "فراتحلیل"}, 2)
    own = {"فراتحلیل", "ارزشیاب", "گونه‌شناس"}
    assert [c.text for c in facts._cover([best], [repeat, other], own, 2)] == ["a", "c"]


def test_the_answerability_classifiers_confidence_counts_on_its_log_odds(assistant):
    """The decision reads the classifier's P(answered) as log-odds (a second model stacked on its own scale):
    0.001 is far surer than 0.05, though the probabilities differ by 0.049. On the probability scale the stored
    decision barely moved; on log-odds "the current population of a city the paper names" is abstained on. Read
    for a question whose every other feature is at its dev mean (the decision's point of least certainty)."""
    from assistant.compose.decision import log_odds

    calibration = assistant._current_engine().composer.calibration
    feats = dict(calibration.mean)
    unsure, sure = (calibration.probability(dict(feats, learned_logodds=log_odds(p))) for p in (0.05, 0.001))
    assert unsure - sure > 0.1, (unsure, sure)
    assert log_odds(0.5) == 0.0 and log_odds(1.0) == pytest.approx(-log_odds(0.0)) and log_odds(1.0) > 9


@pytest.mark.parametrize(
    "question", ["How should I start learning the violin at forty?", "بهترین راه یاد گرفتن ویولن تو چهل سالگی چیه؟"]
)
def test_a_question_far_from_everything_the_document_answers_does_not_look_answerable(assistant, question):
    """The fitted decision reads where a question falls among the keys, near misses and everyday questions only
    through measures that stay the same when the question is uniformly further from all of them (the soft vote,
    the answerability classifier): moving it away from every key must not make it more answerable. A fit on the
    raw nearest-key similarity learned the opposite (dev's questions nearest no key are long answerable ones)."""
    ans = assistant.ask(question)
    assert ans.abstained, ans.answer
    feats = dict(ans.evidence["features"])
    calibration = assistant._current_engine().composer.calibration
    further = {k: feats[k] - 0.1 for k in ("key",)} | {k: feats[k] for k in ("near_miss", "offtopic")}
    assert calibration.probability(dict(feats, **further)) <= calibration.probability(feats) + 1e-9


@pytest.mark.parametrize(
    "question, asks_person",
    [
        ("Which research methods did the researchers use?", False),
        ("Which methods of analysis did the researchers rely on?", False),
        ("Who signed the agreement between Tehran and Sanaa?", True),
        ("قرارداد تهرون و صنعا رو کیا امضا کردن؟", True),
    ],
)
def test_a_person_is_asked_only_in_so_many_words(assistant, question, asks_person):
    """The answer-type classifier reads the topic as well as the form, and reads a question about what some
    researchers did as a person question; the person check (the evidence names no one) counts only when the
    question asks "who" in one of the languages' words, colloquial «کیا» included: then a signatory the paper
    never names is still abstained on."""
    ans = assistant.ask(question)
    missing = ans.evidence["features"]["type_missing"]
    if asks_person:
        assert ans.abstained and missing > 0, (missing, ans.answer)
    else:
        assert not ans.abstained and missing == 0 and [c.id for c in ans.citations] == ["s5.p1"], ans.answer


@pytest.mark.parametrize(
    "question",
    [
        "What keeps Tehran from a proper position in city diplomacy?",
        "چه موانعی سر راه رسیدن تهران به جایگاه مناسب در دیپلماسی شهری هست؟",
    ],
)
def test_a_paragraph_rated_well_above_a_table_answers_instead_of_its_list(assistant, question, monkeypatch):
    """A word of the question may name what a table lists ("position"), with nothing the question names to
    narrow its rows: when retrieval rates a paragraph far above every passage of that table, the paragraph
    answers; without the comparison (the factor set to infinity), the table's whole list did."""
    import assistant.compose as compose
    from assistant.query import content_terms, stem
    from assistant.types import Hit

    engine = assistant._current_engine()
    composer = engine.composer
    vec = engine.store.embeddings.embed_query(question)
    a = engine.analyzer.analyse(question, vec)
    terms = {stem(t) for t in content_terms(question)}
    hits = [
        Hit(engine.store.by_id["s6.3.p4"], 1.0, confidence=0.8),
        Hit(engine.store.by_id["t3"], 0.9, confidence=0.25),
    ]
    assert composer.lists.table_for(a, question, question, hits) == 3, "the question's word names the table"
    fact = composer.facts.answer(terms, terms, a, hits, question, vec)
    kinds = []
    for factor in (compose.PROSE_OVER_TABLE, float("inf")):
        monkeypatch.setattr(compose, "PROSE_OVER_TABLE", factor)
        chosen = composer._fact_or_list(fact, a, question, question, hits)
        kinds.append((chosen.kind, sorted({st.passage.id.split(".")[0] for st in chosen.statements})))
    assert kinds == [("fact", ["s6"]), ("list", ["t3"])], kinds


@pytest.mark.parametrize(
    "question, missing",
    [
        ("What was the name of the Tehran mayor who proposed the Asian Mayors Forum?", True),
        ("اسم شهرداری که پیشنهاد تأسیس مجمع شهرداران آسیایی رو داد چی بود؟", True),
        ("Whose proposal led to the founding of the Asian Mayors Forum?", False),
        ("تأسیس مجمع شهرداران آسیایی به پیشنهاد چه کسی بود؟", False),
    ],
)
def test_a_name_asked_is_not_answered_by_a_title(assistant, question, missing):
    """Table 3's row says the forum was founded "at the proposal of the Mayor of Tehran": that answers who
    proposed it, not what the mayor's name was. A question asking a name (the classifier reading a person at
    even odds or more) needs a name the document does not also write in lower case ("mayors") or as a place's or
    organisation's word; the capitalised title counted as a name before, and the colloquial Persian one, with
    no "who" in it, was not checked at all."""
    from assistant.compose.decision import _type_missing
    from assistant.types import Composition, Statement

    engine = assistant._current_engine()
    row = engine.store.by_id["t3.r6"]
    a = engine.analyzer.analyse(question, engine.store.embeddings.embed_query(question))
    chosen = Composition([Statement(row.text_in(a.lang), row)], False, kind="fact")
    assert (_type_missing(a, chosen, [], engine.composer.common) > 0) == missing, (a.probs, a.interrogatives)


@pytest.mark.parametrize(
    "question, pid, missing",
    [
        ("Where is UN-Habitat headquartered?", "t1.r2", True),
        ("مقر برنامه اسکان بشر سازمان ملل در کدام شهر است؟", "t1.r2", True),
        ("Which country is Hanoi in?", "t2.r16", False),
        ("هانوی در کدام کشور است؟", "t2.r16", False),
        # "where" in a clause, not the question's own interrogative: no place asked.
        ("What is the number of countries where UNDP maintains offices?", "t1.r3", False),
        # Where a named place lies: its country answers. Where something happened: not that place's country.
        ("Where is Minsk?", "t2.r4", False),
        ("مینسک کجاست؟", "t2.r4", False),
        ("Where was the Tehran–Minsk sister-city agreement signed?", "t2.r4", True),
        ("قرارداد خواهرخواندگی تهران و مینسک کجا امضا شد؟", "t2.r4", True),
        # "Where does it rank?" asks a position in a ranking, not a place.
        ("Where did Tehran rank in the Economist Intelligence Unit's competitiveness index?", "conclusion.p7", False),
        ("تهران در رتبه‌بندی GUCI کجا قرار دارد؟", "conclusion.p7", False),
    ],
)
def test_a_place_asked_needs_a_place_in_the_evidence(assistant, question, pid, missing):
    """A question asking where (or in which city or country) is answered only by evidence that names a place
    other than those the question names and the document's own subject: UN-Habitat's row gives its work and its
    reach in 60 countries, not its seat, and was quoted as the answer before. Asked where an agreement with a city
    was signed, the city's row names its country: no answer (it was one). "Where did Tehran rank?" abstained."""
    from assistant.compose.decision import _type_missing
    from assistant.types import Composition, Statement

    engine = assistant._current_engine()
    composer = engine.composer
    row = engine.store.by_id[pid]
    a = engine.analyzer.analyse(question, engine.store.embeddings.embed_query(question))
    chosen = Composition([Statement(row.text_in(a.lang), row)], False, kind="fact")
    got = _type_missing(a, chosen, [], composer.common, composer._places_in) > 0
    assert got == missing, (a.interrogatives, a.probs)


@pytest.mark.parametrize(
    "earlier, question",
    [
        (
            "Who stressed the need for more research on the cities of the Third World?",
            "What is the reason for their insistence?",
        ),
        ("چه کسانی بر ضرورت پژوهش بیشتر درباره شهرهای جهان سوم تأکید کرده‌اند؟", "علت این اصرارشان چیست؟"),
    ],
)
def test_a_followups_unknown_words_are_weighed_among_the_turn_it_follows(assistant, earlier, question):
    """A follow-up is read with the turn it follows: the share of its words the paper never uses ("insistence",
    «اصرارشان») is taken over the joined question's words, not its own few (all of them, alone, in the Persian
    one), so the weighed decision answers it from the passage the earlier question found; asked alone it abstains."""
    history = [{"role": "user", "content": earlier}, {"role": "assistant", "content": "..."}]
    followed, alone = assistant.ask(question, history), assistant.ask(question)
    assert followed.evidence["unknown"]  # still reported
    assert followed.evidence["features"]["unknown"] < alone.evidence["features"]["unknown"]
    assert not followed.abstained and "intro.p2" in {c.id for c in followed.citations}
    assert alone.abstained


@pytest.mark.parametrize(
    "question",
    ["What does the paper say about Sydney?", "شانگهای تو مقاله کجا اومده؟"],
)
def test_a_name_the_paper_says_once_leads_to_the_passage_that_says_it(assistant, question):
    """A city named once, in passing, in a long paragraph (the paper's friend cities) has no question key of its
    own; the reranker read "it names what the question names" for every passage alike and put the table of
    recommendations or the title first (the Persian question abstained). The rarity of the name among the
    passages (rerank feature names_rare) now brings the paragraph that names it to the top."""
    engine = assistant._current_engine()
    a = engine.analyzer.analyse(question, engine.store.embeddings.embed_query(question))
    (entity,) = [m.entity for m in a.mentions]
    naming = [pid for pid, p in engine.store.by_id.items() if entity.named_in(p.text + " " + p.text_en)]
    assert len(naming) == 1  # said once in the whole paper
    ans = assistant.ask(question)
    assert not ans.abstained and ans.citations[0].id == naming[0], (ans.answer[:200], ans.retrieved[:5])


@pytest.mark.parametrize(
    "question, stated, unstated",
    [
        ("Which body has 30 cities from around the world as members?", "30", None),
        ("کدام سازمان ۳۰ شهر از سراسر جهان عضو دارد؟", "30", None),
        ("How many members did UCLG have in 2020?", None, "2020"),
    ],
)
def test_a_number_the_paper_writes_in_words_is_a_number_it_states(assistant, question, stated, unstated):
    """A number the document never states ("in 2020") is a name-like unknown and abstains outright; the paper
    writes some numbers in words ("Thirty cities", «سی شهر»), and asked in digits they were taken for such."""
    engine = assistant._current_engine()
    a = engine.analyzer.analyse(question)
    if stated:
        assert stated not in a.unknown_names and stated not in a.unknown
    if unstated:
        assert unstated in a.unknown_names


@pytest.mark.parametrize(
    "question, place",
    [
        ("دامنه نفوذ آن تا کجاست؟", False),  # "up to where": how far it reaches, an extent
        ("How far does its reach extend?", False),
        ("مقر آن کجاست؟", True),
        ("Where is it based?", True),
        ("نشست‌هایی که تهران در آن شرکت کرده کجا برگزار شد؟", True),  # «کرده» is no «رده» (rank)
        ("Where does Tehran rank in the GUCI index?", False),  # a position in a ranking
    ],
)
def test_how_far_is_no_place_question(assistant, question, place):
    """«تا کجا» asks how far, as "how far" does: read as a place question it abstained on a follow-up asking how
    far an organisation's reach extends ("it asks for a place; the evidence names none")."""
    a = assistant._current_engine().analyzer.analyse(question)
    assert ("place" in a.interrogatives) is place


@pytest.mark.parametrize(
    "question, asked, abstains",
    [
        ("مجمع شهرداران آسیایی کی تأسیس شد؟", "year", True),  # when: the paper gives no founding year
        ("تهرون کی با بیشکک خواهرخونده شد؟", "year", False),  # when: the paper gives the year
        ("مجمع شهردارای آسیایی رو کی پیشنهاد داد؟", "person", False),  # who, after the object marker
        ("رئیس شورای شهر تهرون کی بود؟", "person", None),  # who, before the copula
        ("مجمع شهرداران آسیایی به پیشنهاد کی تأسیس شد؟", "person", False),  # whose, owner of a preposition's noun
        ("قرارداد تهران با مسکو کی امضا شد؟", "year", None),  # a name has no owner: when
    ],
)
def test_colloquial_ki_is_when_after_the_subject_and_who_after_a_preposition(assistant, question, asked, abstains):
    """Colloquial «کی» is "when" or "who": after the subject it asks when, and a year question needs a year in its
    evidence (a founding the paper never dates was answered with the row that names the forum)."""
    a = assistant._current_engine().analyzer.analyse(question)
    assert asked in a.interrogatives and ({"year", "person"} - {asked}).isdisjoint(a.interrogatives)
    if abstains is not None:
        assert assistant.ask(question).abstained is abstains


def test_the_numbers_a_question_states_are_not_what_it_asks(assistant):
    """A reverse lookup states a number and asks for the thing: its digits made the answer-type classifier read a
    number question (0.25), and the number check ("the evidence states no number the question does not") then
    abstained on the row that answers it. "How many of its 95 ..." still asks a number."""
    engine = assistant._current_engine()

    def p_number(q: str) -> float:
        return engine.analyzer.analyse(q, engine.store.embeddings.embed_query(q)).p("number")

    assert p_number("Which organisation had 5551 members in 2013?") < 0.2
    assert p_number("How many of UN-Habitat's 95 programmes run in Iran?") > 0.8
    from assistant.compose.decision import _type_missing
    from assistant.types import Composition, Statement

    q = "Which organisation had 5551 members in 2013?"
    a = engine.analyzer.analyse(q, engine.store.embeddings.embed_query(q))
    row = engine.store.by_id["t1.r9"]  # its reach: "5551 members in 2013"
    reasons: list[str] = []
    assert _type_missing(a, Composition([Statement(row.text_en, row)], False, kind="fact"), reasons) == 0.0, reasons


@pytest.mark.parametrize(
    "question, word",
    [
        ("Which city is Tehran's newest sister city?", "newest"),
        ("جدیدترین خواهرخوانده تهران کدام شهر است؟", "جدید"),
        ("Which of Tehran's sister cities is the largest?", "largest"),
        ("What is the most important policy recommendation?", "most"),
    ],
)
def test_a_ranking_the_paper_does_not_give_is_not_answered_with_the_whole_list(assistant, question, word):
    """The issue's "newest sister city": Table 2 gives no dates, sizes or order, and the question was answered
    with all 23 rows (the whole list is no answer to "which one is the newest")."""
    ans = assistant.ask(question)
    assert ans.abstained, ans.answer[:200]
    assert word in ans.evidence["abstain_reasons"][0] and "does not rank" in ans.evidence["abstain_reasons"][0]


@pytest.mark.parametrize(
    "question",
    [
        "What are the most important international organisations for urban management?",
        "مهم‌ترین سازمان‌های بین‌المللی فعال در مدیریت شهری کدام‌اند؟",
        "What are the most influential international organisations in urban management?",
        "اصلی‌ترین سازمان‌های بین‌المللی در مدیریت شهری کدامند؟",
    ],
)
def test_a_ranking_the_paper_gives_itself_is_answered(assistant, question):
    """Table 1's title names "the most important" organisations: that superlative is the paper's own, and a
    reworded one ("the most influential", «اصلی‌ترین») asks for the same ranking."""
    ans = assistant.ask(question)
    assert not ans.abstained and "t1" in cited(ans) and len([c for c in ans.citations if c.row]) == 10


def test_a_superlative_of_what_the_evidence_says_is_answered_as_far_as_the_paper_goes(assistant):
    """ "Where is Tehran most active?": the paper grades no activity, but it says where Tehran is active; that row
    answers as it did before superlatives were checked (the check had abstained on it)."""
    ans = assistant.ask("In which organisations is Tehran most active?")
    assert not ans.abstained and "active" in ans.answer and any(c.table == 3 for c in ans.citations)


@pytest.mark.parametrize(
    "question, rows, said",
    [
        ("Which organisation has the most member countries?", ["t1.r10", "t1.r7"], "184"),  # tied: both
        ("کدام سازمان بیشترین کشور عضو را دارد؟", ["t1.r10", "t1.r7"], "۱۸۴"),
        ("Which organisation has the most members?", ["t1.r9"], "5551"),
        ("کدوم سازمان از همه بیشتر عضو داره؟", ["t1.r9"], "۵۵۵۱"),
    ],
)
def test_the_most_of_a_count_is_the_rows_that_give_the_largest(assistant, question, rows, said):
    """The most X ranks the rows by the count of X each gives ("184 member countries"; a number two words from
    "members", "250 thousand inhabitants are members", is no count of members), ties together, each shown with
    its count under the table's title. «بیشترین»: the form of the question, not a word the paper must use.
    Before, these were answered with one row retrieval preferred (the Persian one with the wrong one)."""
    ans = assistant.ask(question)
    assert not ans.abstained, ans.evidence["abstain_reasons"]
    assert sorted(c.id for c in ans.citations if c.row) == rows
    assert said in ans.answer and "t1" in cited(ans)


@pytest.mark.parametrize(
    "question, row, said",
    [
        ("کدام سازمان ۱۰۴ عضو دارد؟", "t1.r6", "۱۰۴"),
        ("Which forum brings together about 50 Asian cities?", "t1.r8", "50"),
    ],
)
def test_a_count_the_question_states_locates_the_row_that_gives_it(assistant, question, row, said):
    """A figure written in the question ("104 members") names a row as a name does: the rows of the table are
    narrowed to the one that counts 104 members (the Persian question got seven rows of Table 1, the English
    one the Islamic capitals' row too). "Which 10 institutions" counts the answer: no row counts 10 of them."""
    ans = assistant.ask(question)
    assert not ans.abstained and [c.id for c in ans.citations if c.row] == [row] and said in ans.answer
    ten = assistant.ask(
        "Which 10 international institutions does the paper regard as the most important ones influencing urban "
        "management worldwide?"
    )
    assert len([c for c in ten.citations if c.row]) == 10


@pytest.mark.parametrize(
    "question, lang, said",
    [
        ("Is Jakarta one of Tehran's sister cities?", "en", "It never mentions Jakarta."),
        ("Is Jakarta one of Tehran's sister cities?", "fa", "مقاله از Jakarta نامی نمی‌برد."),
        ("Did Tehran sign anything with Tokyo in 2020?", "en", "It never mentions Tokyo, 2020."),
        ("جدیدترین خواهرخوانده تهران کدام شهر است؟", "fa", "رتبه‌بندی‌ای بر پایه «جدیدترین» به دست نمی‌دهد."),
        ("Which city is Tehran's newest sister city?", "en", "It gives no order or ranking by “newest”."),
        ("Which challenge is the most serious for Tehran?", "en", "It gives no order or ranking by “most serious”."),
    ],
)
def test_the_abstention_says_what_the_paper_does_not_speak_of(assistant, question, lang, said):
    """The issue's «مقاله از جاکارتا نامی نمی‌برد»: when a check finds what the paper never says in the question's
    own words (a name it never mentions, an order it never gives), the abstention tells the user, in the answer
    language, with the question's spelling. Any other abstention stays the plain sentence."""
    from assistant.answer import NOT_IN_PAPER

    ans = assistant.ask(question, lang=lang)
    assert ans.abstained and ans.answer.startswith(NOT_IN_PAPER[lang]) and ans.answer.endswith(said), ans.answer
    plain = assistant.ask("What is the annual budget of Tehran's international relations office?", lang=lang)
    assert plain.abstained and plain.answer == NOT_IN_PAPER[lang]


@pytest.mark.parametrize(
    "question, row",
    [
        ("کدوم نهاد تو ۱۶۶ کشور دفتر داره؟", "t1.r3"),
        ("Which institution has offices in 166 countries?", "t1.r3"),
    ],
)
def test_a_row_answers_for_the_kind_of_thing_its_table_lists(assistant, question, row):
    """ "Which body / institution ...?" asks for the kind of thing Table 1 lists; its rows' keys happen to say
    "organisation", so the "which X" check read the asked noun as absent from the evidence and the decision
    abstained on the row that answers (the Persian one at 0.22). The profile's words for a table's kind of row
    now count among its rows' key words."""
    ans = assistant.ask(question)
    assert not ans.abstained and [c.id for c in ans.citations] == [row]
    assert "focus_missing" in ans.evidence["features"] and ans.evidence["features"]["focus_missing"] == 0.0


@pytest.mark.parametrize(
    "question, said",
    [
        ("آیا دیپلماسی شهری قرار است جای دیپلماسی رسمی را بگیرد یا با آن رقابت کند؟", "مکمل"),
        ("Is city diplomacy meant to replace official diplomacy or to compete with it?", "complement"),
    ],
)
def test_a_comparison_whose_sides_share_one_sentence_is_answered_with_its_paragraph(assistant, question, said):
    """When one sentence is the best evidence for both sides of "X or Y" (or of how X and Y differ), that sentence
    alone says one side: the paragraph's strong neighbours join it, in order, as for an explanation. The Persian
    question got the sentence on what official diplomacy serves, not the one saying city diplomacy complements it."""
    ans = assistant.ask(question)
    assert not ans.abstained and said in ans.answer and ans.answer.count("[1]") >= 2, ans.answer[:300]
    assert [c.id for c in ans.citations] == ["s3.p2"]


@pytest.mark.parametrize(
    "question, said",
    [
        ("یعنی اینو ضد دیپلماسی رسمی می‌دونه؟", "مکمل"),
        ("So does it treat it as opposed to official diplomacy?", "complement"),
    ],
)
def test_a_yes_no_or_comparison_question_on_a_paragraph_is_answered_as_an_explanation(assistant, question, said):
    """A yes/no question (or a comparison not split into two sides) answered from a paragraph gets the paragraph's
    strongest sentences in order, as a reason does, not the one or two that score best alone: the follow-up
    "so it treats it as opposed to official diplomacy?" got the sentence on what official diplomacy serves, without
    the one saying city diplomacy is its complement."""
    earlier = [
        {"role": "user", "content": "دیپلماسی شهری از نظر مقاله چه جور دیپلماسی‌ای است؟"},
        {"role": "assistant", "content": "…"},
    ]
    ans = assistant.ask(question, history=earlier)
    assert not ans.abstained and said in ans.answer, ans.answer[:300]
    # The sentence that says it with the one after it, in the paper's order (the English got the first alone).
    assert [c.id for c in ans.citations] == ["s3.p2"] and ans.answer.count("[1]") >= 2


@pytest.mark.parametrize(
    "question, row, said",
    [
        ("Which organisation brings together about fifty cities?", "t1.r8", "50"),
        ("کدوم سازمان صد و چهار تا عضو داره؟", "t1.r6", "۱۰۴"),
    ],
)
def test_a_count_written_in_words_locates_the_row_as_digits_do(assistant, question, row, said):
    """ "fifty", «صد و چهار» are the numbers 50 and 104: the count narrows the table to the row that gives it, no
    row that retrieval rates alike joins it, and the word is no word foreign to the paper (the English question
    got the Islamic capitals' row; "fifty" counted as an unknown word)."""
    ans = assistant.ask(question)
    assert not ans.abstained and [c.id for c in ans.citations if c.row] == [row] and said in ans.answer
    assert ans.evidence["unknown"] == []


@pytest.mark.parametrize(
    "question, word, said",
    [
        ("Which organisation has seventy members?", "seventy", "It never mentions seventy."),
        ("کدوم سازمان هفتاد تا عضو داره؟", "هفتاد", "مقاله از هفتاد نامی نمی‌برد."),
    ],
)
def test_a_count_in_words_the_paper_never_gives_is_said_back(assistant, question, word, said):
    """A number in words is checked as digits are: no organisation has seventy members and the paper never
    states 70 (both questions had been answered with the Metropolis row), said back in the question's words."""
    ans = assistant.ask(question)
    assert ans.abstained and ans.answer.endswith(said), ans.answer
    assert list(ans.evidence["not_said"]) == ["name", word]


@pytest.mark.parametrize(
    "question, explained",
    [
        (
            "Why did Tehran choose Minsk as a sister city?",
            "Why is Tehran unable to play an active role in city diplomacy?",
        ),
        (
            "چرا تهران مینسک را به عنوان خواهرخوانده انتخاب کرد؟",
            "چرا تهران نتوانسته در دیپلماسی شهری نقش فعالی داشته باشد؟",
        ),
    ],
)
def test_a_why_question_needs_evidence_that_gives_a_reason(assistant, question, explained):
    """ "Why ...?" answered by a row that only states the fact asked about (Table 2 lists Minsk as a sister city and
    says nothing of why) is a near miss: the evidence must give a cause, a purpose or a condition. A why question
    the paper explains ("because of obstacles such as ...") is answered."""
    ans = assistant.ask(question)
    assert ans.abstained and "it asks why; the evidence gives no reason" in ans.evidence["abstain_reasons"]
    ok = assistant.ask(explained)
    assert not ok.abstained and "s6.3.p4" in [c.id for c in ok.citations]


@pytest.mark.parametrize(
    "question, row, said",
    [
        ("Which body has 104 members?", "t1.r6", "104"),
        ("کدوم نهاد ۵۵۵۱ عضو داشت؟", "t1.r9", "۵۵۵۱"),
    ],
)
def test_a_figure_that_identifies_what_is_asked_answers_from_the_row_that_gives_it(assistant, question, row, said):
    """ "Which body has 104 members?" asks for a body by its count of members: the row that counts them answers,
    though the weighed decision reads the form as a near miss (both abstained)."""
    ans = assistant.ask(question)
    assert not ans.abstained and [c.id for c in ans.citations] == [row] and said in ans.answer


@pytest.mark.parametrize(
    "question, named",
    [
        (
            "What is the Mayors for Peace disarmament campaign called?",
            "What is the title of the article by Daroudi and Peimani?",
        ),
        ("اسم تفاهم‌نامه تهران با کابل چیه؟", "اسم مقاله درودی و پیمانی چیه؟"),
    ],
)
def test_a_name_or_title_asked_needs_evidence_that_gives_one(assistant, question, named):
    """A name or title asked for ("what is it called?", «اسمش چیه») from evidence that names nothing the question
    does not (the Mayors for Peace row names only the organisation; Table 2's Kabul row only the city) is a near
    miss; both had been answered with the row. A title the paper quotes is answered, and so is the name of a place
    the question does not name (the sister city in Cuba: Havana)."""
    ans = assistant.ask(question)
    assert ans.abstained and "it asks for a name or title; the evidence gives none" in ans.evidence["abstain_reasons"]
    ok = assistant.ask(named)
    assert not ok.abstained and [c.id for c in ok.citations] == ["s1.p3"]
    city = assistant.ask("What is the name of Tehran's sister city in Cuba?", lang=ok.language)
    assert not city.abstained and [c.id for c in city.citations] == ["t2.r1"]


@pytest.mark.parametrize(
    "question",
    ["Who is the executive director of UN-Habitat?", "مدیر برنامه اسکان بشر سازمان ملل (UN-Habitat) چه کسی است؟"],
)
def test_the_name_of_what_the_question_names_is_no_person_it_asks_for(assistant, question):
    """ "Who ... of UN-Habitat?": the row writes the programme's own name (United Nations Human Settlements
    Programme), which is no one the question asks for; both had been answered with that row."""
    ans = assistant.ask(question)
    assert ans.abstained and "it asks for a person; the evidence names no one" in ans.evidence["abstain_reasons"]


def test_who_is_in_persian_is_an_interrogative_not_a_word_of_the_question(assistant):
    """«کیست» asks "who is": no content word the paper never uses, and a person question."""
    a = assistant._current_engine().analyzer.analyse("پیشنهاددهنده مجمع شهرداران آسیایی کیست؟")
    assert "کیست" not in a.unknown and "person" in a.interrogatives


@pytest.mark.parametrize(
    "question",
    ["Does Tehran have a sister-city agreement with Paris?", "تهران با پاریس قرارداد خواهرخواندگی داره؟"],
)
def test_a_status_asked_of_one_named_city_is_that_citys_row_not_the_list(assistant, question):
    """A status named made a list of every row of that status, so "does it have a sister-city agreement with
    <city>?" was answered with the seventeen sister cities (and not the city asked about)."""
    ans = assistant.ask(question)
    rows = [c for c in cited(ans) if c.startswith("t2.r")]
    assert not ans.abstained and len(rows) <= 1 and ({"t2.r21", "s6.2.p3"} & set(cited(ans))), cited(ans)


@pytest.mark.parametrize(
    "question, said",
    [
        ("What percentage of Iran's gross national product belongs to the Tehran city-region?", "25"),
        ("چند درصد تولید ناخالص ملی مال منطقه شهری تهرانه؟", "۲۵"),
        ("What percentage of Tehran's budget goes to international relations?", None),
        ("چند درصد بودجه شهرداری تهران صرف روابط بین‌الملل میشه؟", None),
    ],
)
def test_a_percentage_asked_is_answered_by_a_percentage(assistant, question, said):
    """ "What percentage ..." counts percent, as «چند درصد» does: "more than 20 major cities" answered the share
    of a budget the paper never gives."""
    ans = assistant.ask(question)
    if said is None:
        assert ans.abstained, ans.answer
    else:
        assert not ans.abstained and said in ans.answer, ans.answer


@pytest.mark.parametrize(
    "question",
    ["When will the sister-city agreement with Tunis be signed?", "When do they plan to sign with Damascus?"],
)
def test_when_with_any_auxiliary_asks_a_time(assistant, question):
    """ "When will / do / has ..." asks a time as "when was" does: the rows in consultation were listed."""
    a = assistant._current_engine().analyzer.analyse(question)
    assert "year" in a.interrogatives
    assert assistant.ask(question).abstained


@pytest.mark.parametrize(
    "question, said",
    [
        ("What does good metropolitan governance in Tehran still struggle with?", "centralism"),
        ("حکمروایی خوب و یکپارچه کلانشهری در تهران هنوز با چه چیزی دست و پنجه نرم می‌کند؟", "تمرکز"),
        # Each sentence that points back at the one before goes on with it: "It is in this sense that ...",
        # «فرصت‌هایی که ...» then «بدین سان است که ...» (the paper's answer to the question is the last).
        ("Can a non-global city like Tehran benefit from globalisation at all?", "even non-global cities"),
        ("آیا شهری مثل تهران که جهانی نیست اصلا میتونه از جهانی شدن نفعی ببره؟", "حتی شهرهای غیرجهانی"),
    ],
)
def test_a_sentence_that_points_back_is_said_with_the_one_before(assistant, question, said):
    """ "This is a matter that ... still faces challenges owing to ...", «امری که ...»: the sentence goes on with the
    one before it; the answer gave the first alone, which names no challenge."""
    ans = assistant.ask(question)
    assert not ans.abstained and said in ans.answer, ans.answer


def test_a_year_written_short_is_the_year_the_paper_states_in_full(assistant):
    """«سال ۹۳» is 1393 as Persian speakers write it: "the paper never names 93" made the question abstain. A
    short year the paper states in no century stays unknown."""
    analyzer = assistant._current_engine().analyzer
    assert "93" not in analyzer.analyse("عنوان مقاله بصیرت سال ۹۳ چی بود؟").unknown_names
    assert "57" in analyzer.analyse("عنوان مقاله بصیرت سال ۵۷ چی بود؟").unknown_names
    ans = assistant.ask("عنوان مقاله بصیرت سال ۹۳ چی بود؟")
    assert not ans.abstained and "s1.p3" in cited(ans) and "گذار از مدیریت شهری منزوی" in ans.answer, ans.answer


@pytest.mark.parametrize(
    "question, said",
    [
        ("why does the paper say women should be seen as new actors in the age of globalization", "without needing"),
        ("چرا مقاله میگه زنان رو باید کنشگران جدید عصر جهانی شدن دونست؟", "بدون نیاز"),
    ],
)
def test_asked_why_a_consequence_is_said_with_the_sentence_it_is_drawn_from(assistant, question, said):
    """ "Consequently, women should be referred to as new actors": the reason is the sentence before, which the
    answer left out."""
    ans = assistant.ask(question)
    assert not ans.abstained and said in ans.answer, ans.answer


def test_an_acronym_of_a_phrase_the_paper_writes_out_is_a_word_it_uses(assistant):
    """ "GNP": the paper writes "gross national product" and the question abstained ("it never mentions GNP");
    an acronym of nothing the paper writes ("GDP", "NATO") is still unknown."""
    analyzer = assistant._current_engine().analyzer
    assert analyzer.analyse("What share of Iran's GNP comes from the Tehran city-region?").unknown_names == []
    assert analyzer.analyse("Is Tehran a member of NATO?").unknown_names == ["nato"]
    ans = assistant.ask("What share of Iran's GNP comes from the Tehran city-region?")
    assert not ans.abstained and "25" in ans.answer, ans.answer


def test_a_spoken_persian_plural_names_what_the_written_one_names(assistant):
    """«شهردارای» is spoken Persian for «شهرداران»: the forum's name went unread, "Asian" was read as the region,
    and the answer was the forum's goals, not who proposed it."""
    engine = assistant._current_engine()
    q = "مجمع شهردارای آسیایی به پیشنهاد کی راه افتاد؟"
    assert "org:asian_mayors_forum" in {m.entity.id for m in engine.analyzer.profile.mentions(q)}
    ans = assistant.ask(q)
    assert not ans.abstained and cited(ans) == ["t3.r6"], (cited(ans), ans.answer)


def test_a_count_of_the_whole_thing_asked_comes_before_a_count_of_part_of_it(assistant):
    """ "How many sister cities?": "more than 17 sister cities" counts them; "more than 20 major cities" (cities with
    memoranda or sister-city ties) counts cities only, and was the answer."""
    ans = assistant.ask("how many sister cities does tehran have")
    assert not ans.abstained and cited(ans)[:1] == ["s6.2.p2"] and "17" in ans.answer, (cited(ans), ans.answer)


def test_a_count_of_something_a_table_does_not_list_is_not_answered_with_its_rows(assistant):
    """ "How many staff does the international relations office have?": the table of sister cities was listed
    (its title was the best evidence), as if its rows were what the question counts."""
    ans = assistant.ask("اداره کل روابط بین‌الملل شهرداری تهران چند تا کارمند داره؟")
    assert ans.abstained, ans.answer
    listed = assistant.ask("جدول ۲ چند تا شهر داره؟")  # what the table's rows are: still its list
    assert not listed.abstained and len([c for c in cited(listed) if c.startswith("t2.r")]) >= 17


def test_a_bounds_words_are_the_questions_form_not_words_the_paper_must_use(assistant):
    """ "Fewer than 100 members": "fewer" is a comparator like "more than"; read as a word the paper never uses, the
    question abstained."""
    q = "According to Table 1, which organisations have fewer than 100 members?"
    assert assistant._current_engine().analyzer.analyse(q).unknown == []
    ans = assistant.ask(q)
    assert not ans.abstained and {"t1.r5", "t1.r8"} <= set(cited(ans)), (cited(ans), ans.answer[:300])
