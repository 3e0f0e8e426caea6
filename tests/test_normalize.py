"""Persian normalization: real defects from the paper's extraction, and properties on any text."""

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.normalize import clean_display, normalize, persian_digits, tokens


def test_tatweel_removed_from_extracted_words():
    # "پاســخ ها" and "کــه" as pypdf extracted them from the paper
    assert normalize("پاســخ ها و کــه") == "پاسخ ها و که"


def test_arabic_ya_and_kaf_become_persian():
    assert clean_display("سياست كشور") == "سیاست کشور"
    assert clean_display("مصطفى") == "مصطفی"


def test_mixed_digits_match_one_form():
    # the extraction writes the year 1390 as "139۰" (Latin digits and a Persian zero)
    assert normalize("محمدی)139۰(") == normalize("محمدی)۱۳۹۰(") == "محمدی)1390("
    assert tokens("۱۳۹۰") == tokens("1390") == tokens("١٣٩٠") == ["1390"]


def test_display_keeps_original_digits_and_half_space():
    assert clean_display("۱۳۹۰ می‌شود") == "۱۳۹۰ می‌شود"


def test_half_space_matches_space_and_joined_plural_parts():
    assert tokens("فرصت‌ها") == tokens("فرصت ها") == ["فرصت", "ها"]


def test_presentation_forms_nfkc_only_there():
    # U+FEF7 (lam-alef with hamza, presentation form) -> letters; a superscript ² outside the range stays
    assert clean_display("\ufefb") == "لا"
    assert clean_display("x²") == "x²"


def test_footnote_superscripts_split_from_words():
    assert tokens("جهان‌شهر¹،") == ["جهان", "شهر", "1"]
    assert tokens("جهان شهر1،") == ["جهان", "شهر", "1"]


def test_bidi_controls_and_zero_width_removed():
    assert clean_display("\u202eabc\u202c\u200b") == "abc"
    assert normalize("\u200b\u200d\u2067") == ""


def test_diacritics_dropped_for_matching():
    assert normalize("مُدیریَت") == "مدیریت"
    assert normalize("زمینۀ") == "زمینه"


def test_persian_digits_for_display():
    assert persian_digits("Table 2, row 16") == "Table ۲, row ۱۶"


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_normalize_is_idempotent_and_total(text):
    once = normalize(text)
    assert normalize(once) == once
    assert clean_display(clean_display(text)) == clean_display(text)
    tokens(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x0600, max_codepoint=0x06FF) | st.sampled_from(" \u200c\u0640")))
def test_no_tatweel_or_arabic_letters_survive(text):
    out = normalize(text)
    assert "\u0640" not in out and "\u064a" not in out and "\u0643" not in out


def test_full_width_latin_matches_ascii():
    assert normalize("ＩＭＦ ｍｅｍｂｅｒｓ？ ２０２０") == normalize("IMF members? 2020") == "imf members? 2020"
    assert tokens("Ｈａｎｏｉ（Ｖｉｅｔｎａｍ）") == ["hanoi", "vietnam"]


def test_a_full_width_question_gets_the_ascii_questions_answer(assistant):
    wide = assistant.ask("Ｗｈｉｃｈ ｃｉｔｙ ｉｎ Ｖｉｅｔｎａｍ ｉｓ Ｔｅｈｒａｎ'ｓ ｓｉｓｔｅｒ ｃｉｔｙ？")
    plain = assistant.ask("Which city in Vietnam is Tehran's sister city?")
    assert not wide.abstained and wide.language == "en" and "Hanoi" in wide.answer
    assert [c.id for c in wide.citations] == [c.id for c in plain.citations]


def test_a_compound_preposition_is_not_its_noun():
    """«به عنوان» is "as": a passage that uses it says nothing of a title; «عنوان» on its own is a title."""
    from assistant.text import stems

    assert "عنو" not in stems("داده‌ها به عنوان یک مجموعه تحلیل می‌شوند")  # the stem of «عنوان»
    assert "عنو" in stems("عنوان کامل مقاله") and "عنو" in stems("مقاله‌ای با عنوان «ارزیابی»")
    assert "منظور" in stems("منظور از دیپلماسی شهری چیست") and "منظور" not in stems("به منظور همکاری")


def test_the_two_sides_of_a_difference_question():
    from assistant.text import halves

    assert halves("Is the fund or the bank larger?") == ["is the fund", "the bank larger?"]
    assert [s.strip() for s in halves("How does the note's view differ from the company's view?")] == [
        "how does the note's view",
        "the company's view?",
    ]
    fa = halves("دیدگاه نویسنده با دیدگاه شرکت آب چه تفاوتی دارد؟")
    assert len(fa) == 2 and "نویسنده" in fa[0] and "شرکت" in fa[1]
    assert halves("What does the note say about leaks and meters?") == []  # no difference asked: one question


def test_which_questions_plural_with_the_indefinite_ending_is_stemmed():
    """«چه شهرهایی», «چه اقداماتی», «سازمان‌هایی»: the plural with the indefinite «ی» is its noun."""
    from assistant.query import content_terms, stem

    assert stem("شهرهایی") == stem("شهرها") == "شهر"
    assert stem("اقداماتی") == stem("اقدامات")
    assert content_terms("چه سازمان‌هایی عضو هستند؟") == ["سازمان", "عضو"]  # the detached ending is no word


def test_numbers_written_in_words_in_either_language():
    """ "one hundred and four", «صد و چهار», "twenty four" are one number each; digits joined by "and" stay two."""
    from assistant.normalize import number_runs
    from assistant.text import numbers_in

    assert numbers_in("one hundred and four members") == [104.0]
    assert number_runs("کدوم سازمان صد و چهار تا عضو داره؟") == [("صد و چهار", 104.0)]
    assert numbers_in("twenty four cities and fifty members") == [24.0, 50.0]
    assert numbers_in("more than one thousand members") == [1000.0]
    assert numbers_in("rows 3 and 4") == [3.0, 4.0]
    assert numbers_in("سه و چهار") == [3.0, 4.0]  # a larger number is not added to a smaller
