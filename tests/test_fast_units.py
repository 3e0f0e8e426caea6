"""Fast unit tests of question analysis and answer composition, on a tiny index built with a FAKE embedder.

The document is the invented Isfahan water note (tests/fixtures/second_doc: its own profile, keys and table).
Its index is built for real (Chroma, BM25, question keys, the answer-type classifier trained at build time),
but every vector comes from tests/fakes.py:FakeEmbeddings, so the whole file runs in seconds without the e5
model. What is asserted holds whatever the embedder: the analysis reads the profile, the vocabulary and the
question's form; the composer picks the sentence or rows that carry the answer. Retrieval quality and the
calibrated abstention threshold belong to the real-model tests (test_second_document.py and the rest).
The fixture has no calibration.json: the composer uses the prior a new document starts with.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes import FakeEmbeddings, fake_embedding_backend, fake_vector

from assistant.answer import NOT_IN_PAPER, Assistant, Engine
from assistant.index import Store, build
from assistant.settings import Settings

FIXTURE = Path(__file__).parent / "fixtures" / "second_doc"
# An honest label in the manifest; and were the fake not injected, loading a model of this name fails at
# once (no such model anywhere) instead of quietly loading the real one.
FAKE_MODEL = "FAKE-hashed-ngrams"


@dataclass
class FastDoc:
    settings: Settings
    store: Store
    fake: FakeEmbeddings
    engine: Engine
    assistant: Assistant


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast-units")
    corpus = root / "corpus"
    shutil.copytree(FIXTURE, corpus)
    settings = Settings(
        corpus_dir=corpus,
        index_dir=root / "index",
        feedback_file=root / "feedback.jsonl",
        embedding_backend="sentence-transformers",
        embedding_model=FAKE_MODEL,
    )
    with fake_embedding_backend(FakeEmbeddings()) as fake:
        store = build(settings, report=lambda line: None)
        yield FastDoc(settings, store, fake, Engine.over(store, settings), Assistant(settings, store))


def analyse(doc: FastDoc, question: str):
    return doc.engine.analyzer.analyse(question, doc.fake.embed_query(question))


def entity_ids(doc: FastDoc, question: str) -> set[str]:
    return {m.entity.id for m in analyse(doc, question).mentions}


def rows_of_kind(kind_en: str) -> dict[str, dict]:
    """Table 1's rows of one kind, straight from the fixture (id -> cells)."""
    table = json.loads((FIXTURE / "tables.json").read_text(encoding="utf-8"))["tables"][0]
    return {r["id"]: r["cells"] for r in table["rows"] if r["cells"]["kind"]["en"] == kind_en}


# ====================================================================== the fake itself
def test_the_index_is_built_with_the_fake_not_the_model(doc):
    assert doc.store.embeddings is doc.fake and doc.fake.calls > 0
    assert doc.store.manifest.embedding_model == FAKE_MODEL
    assert {p.id for p in doc.store.passages} >= {"title.h", "s1.p2", "t1", "t1.r6"}
    assert doc.store.typer is not None  # the answer-type classifier was trained (on fake vectors)


def test_fake_vectors_are_deterministic_unit_and_forgive_spelling():
    def cos(x: str, y: str) -> float:
        return sum(p * q for p, q in zip(fake_vector(x), fake_vector(y)))

    v = fake_vector("زاینده‌رود")
    assert v == fake_vector("زاینده‌رود") and abs(sum(x * x for x in v) - 1.0) < 1e-9
    assert fake_vector("زاینده‌رود") == fake_vector("زاینده رود")  # a half-space is a space once normalized
    assert cos("Zayandeh Rud river", "Zayandeh Rud") > cos("Zayandeh Rud river", "treatment plants") + 0.3
    assert cos("treatment plants", "treatmnet plants") > 0.4  # a typo keeps most trigrams
    assert abs(sum(x * x for x in fake_vector("؟ ... !")) - 1.0) < 1e-9  # no words: still a direction


# ====================================================================== analysis: language
@pytest.mark.parametrize(
    "question, lang",
    [
        ("شهر اصفهان چند تصفیه‌خانه دارد؟", "fa"),
        ("How many treatment plants does Isfahan have?", "en"),
        ("ABFA چه گزارشی داده است؟", "fa"),  # a Latin acronym inside a Persian sentence
        ("What does آبفا stand for?", "en"),  # one Persian word inside an English sentence
    ],
)
def test_language(doc, question, lang):
    assert analyse(doc, question).lang == lang


# ====================================================================== analysis: entities from the profile
@pytest.mark.parametrize(
    "question, entity",
    [
        ("What was done in Jolfa?", "district:jolfa"),
        ("What was done in New Julfa?", "district:jolfa"),  # an alias
        ("What measures were carried out in Khajju?", "district:khaju"),  # a typo (one letter more)
        ("What was done in Sepahn Shahr?", "district:sepahan_shahr"),  # a typo (one letter less)
        ("چه اقداماتی در سپاهان‌شهر انجام شد؟", "district:sepahan_shahr"),  # with a half-space
        ("چه اقداماتی در سپاهان شهر انجام شد؟", "district:sepahan_shahr"),  # with a space
        ("چه اقداماتی در سپاهانشهر انجام شد؟", "district:sepahan_shahr"),  # run together
        ("آب زاینده‌رود از کی قطع شد؟", "river:zayandeh_rud"),
        ("آب زایده رود از کی قطع شد؟", "river:zayandeh_rud"),  # a Persian typo (a letter dropped)
        ("Since when has the Zayanderud not flowed?", "river:zayandeh_rud"),
        ("نظر كاظمي درباره اقدامات فنی چیست؟", "person:kazemi"),  # Arabic kaf and yeh
        ("What did the ABFA report say about losses?", "organisation:abfa"),
    ],
)
def test_entities_named_through_the_profile(doc, question, entity):
    assert entity in entity_ids(doc, question)


def test_the_documents_subject_is_not_an_entity_mention(doc):
    # Every passage is about Isfahan: naming it narrows nothing (the profile's subject).
    assert "city:isfahan" not in entity_ids(doc, "How many treatment plants does Isfahan have?")
    assert entity_ids(doc, "How many treatment plants does Isfahan have?") == set()


def test_a_name_the_document_never_uses_is_reported(doc):
    a = analyse(doc, "What water-saving measures were carried out in the Zeynabiyeh district?")
    assert a.mentions == []
    assert a.unknown_names == ["zeynabiyeh"]
    # A possessive is the name too ("Zeynabiyeh's": it was not matched to its token "zeynabiyeh").
    assert analyse(doc, "What did Zeynabiyeh's council decide about water?").unknown_names == ["zeynabiyeh"]
    # Persian has no capitals: the unknown word is reported, not as a name.
    a = analyse(doc, "در محله زینبیه چه اقداماتی انجام شد؟")
    assert "زینبیه" in a.unknown and a.unknown_names == []


def test_a_suffix_a_half_space_separates_is_not_an_unknown_word(doc):
    """«تصفیه‌خانه‌هایشان», «کم‌ترین», «برنامه‌اش»: the half-space splits the word's ending off as a token,
    which the document never uses as a word; it was an unknown word, read as a sign of an off-topic question."""
    a = analyse(doc, "کم‌ترین تصفیه‌خانه‌هایشان کدام است و برنامه‌اش چیست؟")
    assert a.unknown == [], a.unknown
    assert not {"ترین", "هایشان", "اش"} & set(a.terms), a.terms


def test_an_english_derivation_of_a_document_word_is_not_an_unknown_word(doc):
    """ "investigators", "treatments", "residential" derive from the note's "investigations", "treated",
    "residents": a reworded question is not off-topic for its choice of derivation. A word that only starts
    like one ("photosynthesis" / "photo...", "population" / "popular") stays unknown."""
    a = analyse(doc, "What did the investigators find about residential treatments?")
    assert not {"investigators", "residential", "treatments"} & set(a.unknown), a.unknown
    vocab = doc.engine.analyzer.vocab
    assert vocab.shares_stem("dissemination") is False  # the note never uses "disseminat..."
    from assistant.fuzzy import FuzzyVocab

    words = FuzzyVocab(["disseminating", "popular", "photo", "large"])
    assert words.shares_stem("dissemination") and words.shares_stem("largely")
    assert not words.shares_stem("population") and not words.shares_stem("photosynthesis")


# ====================================================================== analysis: the answer type
@pytest.mark.parametrize(
    "question",
    [
        "Which measures did the residents who took part in the pilot carry out?",
        "How does the note compare the districts in terms of whom the measures served?",
    ],
)
def test_a_who_inside_a_clause_does_not_make_a_person_question(doc, question):
    """English asks with its first wh-word; a later "who"/"whom" opens a clause. It used to add even odds for
    a person, and the decision then abstained for want of a name in the evidence."""
    assert analyse(doc, question).p("person") < 0.5
    assert analyse(doc, "Who argues that technical measures do not last without residents?").p("person") >= 0.5


@pytest.mark.parametrize(
    "question, qtype",
    [
        ("When was the water-saving pilot programme run in the three districts?", "year"),
        ("Since when has the Zayanderud not flowed through the city?", "year"),
        ("آب زاینده‌رود از چه سالی در شهر جریان ندارد؟", "year"),
        ("How many treatment plants treat the city's water?", "number"),
        ("شهر اصفهان برای تصفیه آب شرب چند تصفیه‌خانه در اختیار دارد؟", "number"),
        ("Who argues that technical measures do not last without residents?", "person"),
        ("Why do technical measures not last without residents?", "reason"),
        ("چرا کاظمی معتقد است اقدامات فنی بدون مشارکت مردم ماندگار نمی‌ماند؟", "reason"),
        ("Which technical measures for saving water does the note list?", "list"),
        ("اقدامات فنی صرفه‌جویی آب کدامند؟", "list"),
    ],
)
def test_answer_type(doc, question, qtype):
    a = analyse(doc, question)
    assert a.qtype == qtype, a.probs


def test_question_form_details(doc):
    a = analyse(doc, "How many treatment plants treat the city's water?")
    assert a.counted == "treatment plants" and a.wants_number
    assert analyse(doc, "شهر اصفهان چند تصفیه‌خانه دارد؟").counted == "تصفیه خانه"  # half-space normalized
    assert analyse(doc, "اقدامات اجتماعی جدول ۱ کدامند؟").table == 1  # Persian digits
    assert analyse(doc, "Which measures are in Table 1 and Table 2?").table is None  # two tables: neither
    assert analyse(doc, "Which measures are in Table 1 and Table 2?").tables == [1, 2]  # but both are named
    assert analyse(doc, "what do tables 2 and 1 say?").tables == [2, 1]
    assert analyse(doc, "اقدامات جدول‌های ۱ و ۲ کدامند؟").tables == [1, 2]
    assert analyse(doc, "Which measures save more than 10 percent?").comparator == ("gt", 10.0)


# ====================================================================== composition: facts
@pytest.mark.parametrize(
    "question, passage, sentence, not_said",
    [
        (
            "How many treatment plants treat the city's water?",
            "s1.p2",
            "The city's water is treated in 4 treatment plants and distributed through a worn-out network.",
            "18 percent",
        ),
        (
            "What share of treated water is lost in the network?",
            "s1.p2",  # the same passage, its other sentence
            "about 18 percent of the treated water is lost in the network",
            "4 treatment plants",
        ),
        (
            "شهر اصفهان برای تصفیه آب شرب چند تصفیه‌خانه در اختیار دارد؟",
            "s1.p2",
            "آب شهر در ۴ تصفیه‌خانه تصفیه و از طریق شبکه‌ای فرسوده توزیع می‌شود.",
            "۱۸ درصد",
        ),
        (
            "When was the water-saving pilot programme run in the three districts?",
            "s2.p1",
            "In 1398 a pilot programme for saving water was carried out in three districts: Jolfa, Sepahan Shahr and Khaju.",
            "pressure reducers",
        ),
    ],
)
def test_a_fact_is_answered_with_the_sentence_that_carries_it(doc, question, passage, sentence, not_said):
    ans = doc.assistant.ask(question)
    assert not ans.abstained, ans.evidence.get("abstain_reasons")
    assert [c.id for c in ans.citations] == [passage]
    assert sentence in ans.citations[0].quote and sentence in ans.answer
    assert not_said not in ans.answer  # the passage's other sentence is not part of the answer


# ====================================================================== composition: lists
@pytest.mark.parametrize(
    "question, kind",
    [
        ("Which technical measures for saving water does the note list?", "Technical measure"),
        ("Which social measures does the note list?", "Social measure"),
        ("اقدامات فنی صرفه‌جویی آب کدامند؟", "Technical measure"),
        ("اقدامات اجتماعی جدول ۱ کدامند؟", "Social measure"),
    ],
)
def test_a_list_answer_has_every_matching_row_and_no_other(doc, question, kind):
    ans = doc.assistant.ask(question)
    lang = "fa" if ans.language == "fa" else "en"
    expected = rows_of_kind(kind)
    assert len(expected) == 3
    assert {c.id for c in ans.citations if c.kind == "table_row"} == set(expected)
    for cells in expected.values():
        assert cells["measure"][lang] in ans.answer


def test_a_list_of_the_whole_table(doc):
    ans = doc.assistant.ask("Which measures does Table 1 list?")
    rows = [c.id for c in ans.citations if c.kind == "table_row"]
    assert rows == [f"t1.r{i}" for i in range(1, 7)]  # every row, in the table's order


# ====================================================================== composition: abstaining
def test_an_unknown_entity_is_abstained_on_by_name(doc):
    ans = doc.assistant.ask("What water-saving measures were carried out in the Zeynabiyeh district?")
    assert ans.abstained and ans.citations == []
    assert ans.answer == NOT_IN_PAPER["en"] + " It never mentions Zeynabiyeh."
    assert ans.evidence["abstain_reasons"] == ["the paper never mentions zeynabiyeh"]


def test_an_unknown_word_is_abstained_on_in_persian(doc):
    ans = doc.assistant.ask("در محله زینبیه چه اقداماتی انجام شد؟")
    assert ans.abstained and ans.answer == NOT_IN_PAPER["fa"]
    assert any("زینبیه" in r for r in ans.evidence["abstain_reasons"])


def test_an_off_topic_question_is_abstained_on(doc):
    ans = doc.assistant.ask("بهترین روش پخت قورمه‌سبزی چیست؟")
    assert ans.abstained and ans.language == "fa" and ans.citations == []


# ====================================================================== composition: the answer's language
def test_answers_are_in_the_questions_language(doc):
    fa = doc.assistant.ask("چرا کاظمی معتقد است اقدامات فنی بدون مشارکت مردم ماندگار نمی‌ماند؟")
    en = doc.assistant.ask("Why do technical measures not last without residents?")
    assert (fa.language, en.language) == ("fa", "en")
    assert [c.id for c in fa.citations] == [c.id for c in en.citations] == ["s2.p2"]
    assert "به باور کاظمی" in fa.answer and "In the view of Kazemi" not in fa.answer
    assert "In the view of Kazemi" in en.answer and "به باور کاظمی" not in en.answer


def test_an_asked_answer_language_renders_the_same_evidence(doc):
    # The decision is taken in the question's language; lang only chooses which rendering is quoted.
    question = "شهر اصفهان برای تصفیه آب شرب چند تصفیه‌خانه در اختیار دارد؟"
    ans = doc.assistant.ask(question, lang="en")
    assert ans.language == "en" and [c.id for c in ans.citations] == ["s1.p2"]
    assert "4 treatment plants" in ans.answer and "تصفیه‌خانه" not in ans.answer


# ====================================================================== follow-ups
@pytest.mark.parametrize(
    "question, leans",
    [
        ("دامنه نفوذ آن در شهرهای دیگر تا کجاست؟", True),  # «آن» (normalized to «ان») points back
        ("گستره تأثیرش در شهرهای دیگر چقدر است؟", True),  # a clitic on a word the note never spells so
        ("این اقدام در کدام منطقه‌های شهر اجرا شده است؟", True),  # a demonstrative before a noun
        ("And which of the districts carried them out first?", True),
        ("این یادداشت کدام اقدامات صرفه‌جویی آب را در منطقه جلفا بررسی می‌کند؟", False),  # the note itself
        ("Which water-saving measures in the Jolfa district does the note describe?", False),
    ],
)
def test_a_question_that_points_back_is_read_with_the_earlier_one(doc, question, leans):
    from assistant.query import is_followup

    assert is_followup(question, doc.engine.analyzer.spelled) is leans


# ====================================================================== sentence vectors
def test_every_sentence_of_a_text_passage_has_its_vector_in_both_languages(doc):
    from assistant.text import sentences

    vecs = doc.store.sentence_vectors
    for p in doc.store.passages:
        for lang in ("fa", "en"):
            if p.kind == "table_row":
                assert (p.id, lang) not in vecs
            else:
                assert vecs[(p.id, lang)].shape[0] == len(sentences(p.text_in(lang))), (p.id, lang)


def test_the_sentence_closest_in_meaning_is_preferred_within_its_passage(doc):
    """Same words matched, same passage: the sentence whose vector is closer to the question's scores higher,
    by SENTENCE_WEIGHT per unit of cosine; without a question vector nothing changes."""
    from assistant.compose.collect import SENTENCE_WEIGHT
    from assistant.query import stem

    question = "What does the note say about the Zayandeh Rud?"
    turn_vec = doc.fake.embed_query(question)
    a = analyse(doc, question)
    collector = doc.engine.composer.facts.collector
    hits = doc.engine.retriever.search(question, k=8, query_vec=turn_vec)
    own = {stem(t) for t in a.terms}
    with_vec = collector.candidates(own, own, a, hits, question, turn_vec)
    without = collector.candidates(own, own, a, hits, question, None)
    assert len(with_vec) == len(without)
    shifts = [round(b.score - c.score, 6) for b, c in zip(without, with_vec)]
    assert any(s > 0 for s in shifts) and min(shifts) == 0  # the closest sentence of each passage loses nothing
    import numpy as np

    for c, s in zip(with_vec, shifts):
        if c.passage.kind == "table_row" or s == 0:
            continue
        sims = doc.store.sentence_vectors[(c.passage.id, a.lang)] @ np.asarray(turn_vec, dtype=np.float32)
        assert abs(s - SENTENCE_WEIGHT * float(sims.max() - sims[c.position])) < 1e-4


@pytest.mark.parametrize(
    "question, word, counted",
    [
        ("Which city is Tehran's newest sister city?", "newest", None),
        ("Which of its sister cities is the largest?", "largest", None),
        ("جدیدترین خواهرخوانده تهران کدام است؟", "جدیدترین", None),
        ("کوچک‌ترین سازمان جدول ۱ کدومه؟", "کوچک ترین", None),
        ("Which organisation has the most member countries?", "most", "member countries"),
        ("کدام سازمان بیشترین کشور عضو را دارد؟", "بیشترین", "کشور عضو"),
        ("کدوم سازمان از همه بیشتر عضو داره؟", "از همه بیشتر", "عضو"),
        ("Where are most of its programmes carried out?", None, None),  # "most of": no superlative
        ("What lies to the west of the city?", None, None),  # a noun in -est
        ("What interest does the city have in it?", None, None),
    ],
)
def test_superlative_forms(question, word, counted):
    from assistant.normalize import normalize
    from assistant.query import superlative

    sup = superlative(normalize(question))
    assert (sup.word if sup else None) == word and (sup.counted if sup else None) == counted


def test_a_hyphen_joins_a_number_to_what_it_counts():
    """ "Spans how many years?" of "the 20-year vision document": the count check read no count of years in it
    (a hyphen, not a space, after the number), and the question abstained with "no such count"."""
    from assistant.compose.decision import counts_in, states_count

    assert states_count("the 20-year vision document", "years") and counts_in("a five-year plan", "years") == [5.0]
    assert states_count("سند چشم‌انداز ۲۰ ساله", "سال") and not states_count("the year-20 plan", "years")


def test_a_word_that_governs_a_preposition_as_a_compound_is_no_topic():
    """«ناظر بر» means "concerning" («قوانین ناظر بر تسهیل مشارکت»: laws concerning ...): it says nothing of an
    observer («ناظر»), as «به عنوان» says nothing of a title. A question "which proposal is «ناظر بر» training
    skilled experts?" was answered with that row of laws, by the one word they shared."""
    from assistant.text import stems

    assert "ناظر" not in stems("تدوین قوانین ناظر بر تسهیل مشارکت") and "تسهیل" in stems("قوانین ناظر بر تسهیل")
    assert "ناظر" in stems("هشت شهر عضو ناظر از شش کشور")  # an observer member is one
    assert "مربوط" not in stems("مسائل مربوط به شهر") and "عنوان" not in stems("به عنوان مکمل")


def test_a_sentence_that_points_back_is_told_from_one_that_opens_a_thought():
    from assistant.text import CONTINUES

    for s in (
        "This is a matter that still faces challenges.",
        "امری که همچنان با چالش‌هایی مواجه است.",
        "این امر مهم است.",
        "In this sense the city gains.",
        "فرصت‌هایی که در صدر آنها رقابت‌پذیری است.",
        "بدین سان است که گفته می‌شود.",
    ):
        assert CONTINUES.match(s), s
    for s in ("Thus the nation-state loses its position.", "اینترنت گسترش یافته است.", "Therein lies the problem."):
        assert not CONTINUES.match(s), s
