"""What a question asks: its language, content terms, answer type, table and filters.

Pure functions over text, shared by the extractive composer, follow-up handling and the UI.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

from .normalize import normalize, tokens

_FA_LETTERS = re.compile("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTERS = re.compile("[A-Za-z]")


def detect_language(text: str) -> str:
    """'fa' when Persian letters make up a fair share of the letters, else 'en'.

    Mixed questions ("UCLG چه اهدافی دارد؟") are Persian: acronyms and names in Latin
    script are common inside Persian sentences, the reverse is rare.
    """
    fa = len(_FA_LETTERS.findall(text))
    latin = len(_LATIN_LETTERS.findall(text))
    if fa == 0:
        return "en"
    return "fa" if fa >= 0.25 * (fa + latin) or fa >= 6 else "en"


STOP_EN = set("""a an the of in on at to for from by with about into over under and or but not no is are was were be been
being do does did done have has had having what which who whom whose when where why how whether it its it's they them
their theirs this that these those there here he she his her we our you your i me my as than then so such can could may
might must shall should will would also any all some each every both either neither other others more most many much
few one ones per via vs according paper article study authors author say says said state states stated mention mentions
mentioned list lists listed name names named give gives given tell describe describes show shows shown does please
kind kinds type types way ways thing things between among within without against during before after up down out off
again just only very too own same s t don't doesn't isn't aren't what's which's do roughly approximately about
around exactly currently today now still yet abstract introduction conclusion section paragraph""".split())

STOP_FA = set(tokens("""و در به از که این آن با برای را تا یا هم نیز اما ولی اگر چه چی چیست چیه کدام کدامند کدامیک است هست
هستند بود بودند شد شده شود شوند می نمی کرد کرده کند کنند دارد دارند داشت داشته ای ها های ی یک بر روی پس پیش
چند چقدر چگونه چطور چرا کجا کی آیا را ترتیب همه هر دیگر خود خویش ما شما او ایشان آنها آن‌ها اینها این‌ها
مقاله مقالهٔ نویسنده نویسندگان پژوهش طبق بر اساس براساس گفته آمده ذکر اشاره بگویید بنویسید نام ببرید فهرست
کنید کن می‌کند باشد باشند نیست نیستند وجود بیان آنچه چه‌چیزی چیزی موارد مورد عبارتند
کدوم کدوما کدوم‌ها کدوم‌هاش چیه چیا چطوری چجوری میشه می‌شه هستن بودن کی چی اومده اومد داره دارن کردن کرده
میگن می‌گن می‌گه میگه چقدره تو توی رو اینو اونو اونا اون این‌ها بهش ازش دیگه خب حالا آخه یعنی کنن بکنند بکنن
بشه شدن شده‌اند شده‌ان هستش بوده‌اند گفته‌اند دقیقا دقیقاً لطفا لطفاً بگو بگید توضیح بده الان اکنون هنوز
چکیده مقدمه"""))
# Nationality adjectives -> the country the tables name ("Which Turkish cities ...").
DEMONYMS = {"turkish": "turkey", "russian": "russia", "chinese": "china", "french": "france", "italian": "italy",
            "iraqi": "iraq", "syrian": "syria", "cuban": "cuba", "brazilian": "brazil", "venezuelan": "venezuela",
            "yemeni": "yemen", "vietnamese": "vietnam", "filipino": "philippines", "afghan": "afghanistan",
            "british": "england", "english": "england", "tunisian": "tunisia", "sudanese": "sudan",
            "belarusian": "belarus", "kyrgyz": "kyrgyzstan", "tajik": "tajikistan", "kuwaiti": "kuwait",
            "ترکیه‌ای": "ترکیه", "روسی": "روسیه", "چینی": "چین", "فرانسوی": "فرانسه", "ایتالیایی": "ایتالیا",
            "عراقی": "عراق", "سوری": "سوریه", "انگلیسی": "انگلستان"}
# Colloquial endings that carry no content ("تأثیرش", "اروپایی‌ان", "خواهرخونده‌ست").
COLLOQUIAL_SUFFIXES = ("هاش", "اش", "ش", "ست", "ان", "ه", "ی", "یه", "ای")

# Words that name what kind of answer is wanted.
_NUMBER_EN = re.compile(r"\b(how many|how much|what number|what share|what percentage|what percent|what rank|which rank|"
                        r"what year|which year|when|since when|how long|how large|how big)\b", re.I)
_NUMBER_FA = re.compile(r"(چند|چه تعداد|تعداد|چقدر|چه سالی|کدام سال|چه زمانی|از کی|چه رتبه|رتبه|درصد|سهم)")
_LIST_EN = re.compile(r"\b(which|what are|what were|list|name the|name all|enumerate|what (?:would|will|could|can|does) .*\b(?:gain|benefit|achieve)|what (?:\w+ ){0,3}(?:does|do) (?:the paper|it|tehran) (?:recommend|list|identify|propose))\b", re.I)
_LIST_FA = re.compile(r"(کدام|کدوم|کدامند|چه [^\s]+(?:‌| )?(?:هایی|هائی)|فهرست|نام ببرید|برشمارید|چه مواردی|چه هستند|چه چیزهایی)")
# Plural category words: "what challenges ...", "توصیه‌های مقاله" ask for a list as well.
_CATEGORY_EN = re.compile(r"\b(recommendations|challenges|opportunities|obstacles|barriers|shortcomings|weaknesses|"
                          r"advantages|strengths|necessities|requirements|needs|results|outcomes|benefits|gains|"
                          r"sister cities|sister-cities|twin towns|twin cities|twinning|memoranda|agreements|"
                          r"organi[sz]ations|institutions|bodies|members)\b", re.I)
_CATEGORY_FA = re.compile(r"(توصیه ها|چالش ها|فرصت ها|موانع|کاستی ها|مزیت ها|ضرورت ها|نتایج|پیامدها|"
                          r"خواهرشهرها|خواهر شهرها|خواهرخوانده ها|سازمان ها|نهادها|تفاهم نامه ها|قراردادها)")
_FOLLOWUP_EN = re.compile(r"^(and|also|what about|how about|and what|which of (?:them|those|these))\b|"
                          r"\b(it|its|they|them|their|those|these|this organi[sz]ation|that organi[sz]ation|"
                          r"this city|that city|this one|that one|of them|the same)\b", re.I)
_FOLLOWUP_FA = re.compile(r"^(و |همچنین|در مورد |درباره |آن |این )|"
                          r"(این سازمان|آن سازمان|این نهاد|آن نهاد|این شهر|آن شهر|آنها|آن‌ها|اینها|این‌ها|کدام یک از|کدامیک از|همین|ایشان|آن را|این را|آن چه|اهداف آن|اعضای آن)")


@dataclass
class Analysis:
    lang: str
    terms: list[str]  # content tokens of the question (normalized, stopwords removed)
    wants_number: bool
    wants_list: bool
    table: Optional[int] = None  # explicitly named table ("Table 5", "جدول ۵")
    section: Optional[str] = None  # explicitly named part ("according to the abstract", "در نتیجه‌گیری")
    counted: Optional[str] = None  # the noun of "how many X" / "چند X"
    names: list = field(default_factory=list)  # capitalised words inside an English question (proper nouns)
    wants_year: bool = False
    focus: Optional[str] = None  # the noun a which/what question asks about ("In which journal ...")
    asked: Optional[str] = None  # the words after which/what/کدام: what a list question lists
    raw: str = ""  # the question as asked (for checks that need its capitals)
    asks_row: bool = False  # "which row is Milan in?": a table's row number is the answer
    filters: dict = field(default_factory=dict)  # e.g. {"region": "africa", "agreement": "signed"}


_COMPARE = re.compile(r"\b(or|compare|compared|comparison|difference|differ|versus|vs|more than|fewer than|both)\b|"
                      r"( یا |مقایسه|تفاوت|فرق|بیشتر|کمتر|هر دو)")


def is_comparison(question: str) -> bool:
    return bool(_COMPARE.search(f" {normalize(question)} "))


def content_terms(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in STOP_EN and t not in STOP_FA and (len(t) > 1 or t.isdigit())]


def stem(token: str) -> str:
    """A light stem for matching English plurals/inflections and Persian plural suffixes."""
    if token.isascii():
        for suf in ("ies", "ied", "ing", "ed", "es", "s"):
            if len(token) > len(suf) + 3 and token.endswith(suf):
                return token[: -len(suf)] + ("y" if suf in ("ies", "ied") else "")
        return token
    for suf in ("های", "ها", "ات", "ان"):
        if len(token) > len(suf) + 2 and token.endswith(suf):
            return token[: -len(suf)]
    return token


TITLE_Q = re.compile(r"\btitle of (?:the|this) (?:paper|article|study)\b|عنوان (?:این |)مقاله|اسم (?:این |)مقاله|مقاله چه عنوانی")
_YEAR_Q = re.compile(r"\b(what year|which year|in what year|when was|when did|since when)\b|(چه سالی|کدام سال|چه سال|در چه تاریخی)")
# "In which journal ...", "What was the name of ...", "چه مقدار بودجه ..." -> journal, name, بودجه
_FOCUS_EN = re.compile(r"\b(?:which|what)\s+(?:was the |is the |were the |are the )?(?:(?:main|key|most important|exact|specific) )?([a-z]+)")
# Persian "X-e Y chist?" puts the thing asked for first: "عنوان پژوهش نجاتی حسینی چیست؟" -> عنوان
_FOCUS_FA_END = re.compile(r"^\s*([^\s؟?]+)[^؟?]*\s(?:چیست|چیه|چه بود|کدام است)\s*[؟?]?\s*$")
_FOCUS_FA = re.compile(r"(?:چه مقدار|چه میزان|چه|کدام|کدوم)\s+([^\s؟?]+)")
# The thing a which/what question lists: the two words after the question word ("which international organisations").
_ASKED_EN = re.compile(r"\b(?:which|what)\s+(?!(?:would|will|could|can|does|do|did|is|are|was|were|should|has|have|might|must)\b)"
                       r"(?:of [a-z']+ )?([a-z'-]+(?: [a-z-]+)?)")
_ASKED_FA = re.compile(r"(?:کدام|کدوم|چه)\s+([^\s؟?]+(?: [^\s؟?]+)?)")
_SECTIONS = [
    ("abstract", re.compile(r"\babstract\b|چکیده")),
    ("intro", re.compile(r"\bintroduction\b|مقدمه")),
    ("conclusion", re.compile(r"\bconclusion\b|نتیجه گیری|نتیجه‌گیری|جمع بندی|بخش نتیجه")),
]
_COUNTED_EN = re.compile(r"\bhow many (\w+(?: \w+)?)")
_COUNTED_FA = re.compile(r"چند(?:\s*تا)?\s+([^\s؟?]+(?: [^\s؟?]+)?)")
_TABLE_EN = re.compile(r"\btable\s*(\d)\b", re.I)
_TABLE_FA = re.compile(r"جدول\s*([0-9۰-۹])")

REGIONS = {
    "africa": ("africa", "african", "آفریقا", "افریقا"),
    "europe": ("europe", "european", "اروپا"),
    "asia": ("asia", "asian", "آسیا"),
    "central_asia": ("central asia", "middle asia", "آسیای مرکزی", "آسیای میانه"),
    "middle_east": ("middle east", "middle-east", "arab", "خاورمیانه", "عربی"),
    "americas": ("america", "americas", "latin america", "south america", "آمریکا", "امریکا", "آمریکای لاتین"),
}
AGREEMENTS = {
    "consultation": ("consultation", "negotiat", "in progress", "pending", "not yet", "رایزنی", "مذاکره", "در دست"),
    "memorandum": ("memorand", "mou", "understanding", "تفاهم"),
    "signed": ("signed", "formal sister", "sister-city agreement", "قرارداد خواهر", "امضا"),
}


def analyse(question: str, lang: Optional[str] = None) -> Analysis:
    lang = lang or detect_language(question)
    norm = normalize(question)
    wants_number = bool(_NUMBER_EN.search(norm) or _NUMBER_FA.search(norm))
    wants_list = bool(_LIST_EN.search(norm) or _LIST_FA.search(norm)
                      or ((_CATEGORY_EN.search(norm) or _CATEGORY_FA.search(norm)) and not wants_number))
    if _YESNO.search(norm) and not re.search(r"\b(which|list)\b|کدام|کدوم", norm):
        wants_list = False
    m = _TABLE_EN.search(norm) or _TABLE_FA.search(norm)
    table = int(normalize(m.group(1))) if m else None
    filters: dict = {}
    for key, words in REGIONS.items():
        if any(re.search(r"(?<!\w)" + re.escape(normalize(w)), norm) for w in words):
            filters.setdefault("region", []).append(key)
    if "central_asia" in filters.get("region", []) or "middle_east" in filters.get("region", []):
        filters["region"] = [r for r in filters["region"] if r != "asia"]
    kinds = [key for key, words in AGREEMENTS.items() if any(normalize(w) in norm for w in words)]
    if "consultation" in kinds:  # "still in consultation towards a sister-city agreement"
        filters["agreement"] = "consultation"
    elif len(kinds) == 1:  # naming both other kinds ("sister cities and memoranda") names the whole table
        filters["agreement"] = kinds[0]
    wants_year = bool(_YEAR_Q.search(norm))
    section = next((sec for sec, rx in _SECTIONS if rx.search(norm)), None)
    m = _COUNTED_EN.search(norm) or _COUNTED_FA.search(norm)
    counted = m.group(1) if m else None
    m = _FOCUS_EN.search(norm) or _FOCUS_FA.search(norm) or _FOCUS_FA_END.search(norm)
    focus = None
    if m:
        word = m.group(1)
        if (word not in STOP_EN and word not in STOP_FA and word not in GENERIC_FOCUS and word not in DEMONYMS
                and len(word) > 2):
            focus = word
    names = [w.lower() for w in re.findall(r"(?<=[a-z,] )([A-Z][a-zA-Z]+)", question)
             if w.lower() not in STOP_EN and w.lower() not in DEMONYMS]
    m = _ASKED_EN.search(norm) or _ASKED_FA.search(norm)
    asked = m.group(1) if m else None
    asks_row = bool(re.search(r"\brow\b|ردیف", norm))
    return Analysis(lang=lang, names=names, asked=asked, raw=question, asks_row=asks_row, terms=[DEMONYMS.get(t, SYNONYMS.get(t, t)) for t in content_terms(question)], wants_number=wants_number, wants_list=wants_list,
                    table=table, filters=filters, wants_year=wants_year, focus=focus, section=section,
                    counted=counted)


# Nouns that frame a question rather than name its object: never a reason to abstain.
GENERIC_FOCUS = set(tokens("""label labels name names difference differences chance chances mean means way ways kind kinds
type types role roles reason reasons factor factors thing things aspect aspects feature features step steps activity
activities work works form forms shift change changes part parts group groups problem problems issue issues view
position standing point points main key two three four five six seven eight nine ten several other example examples
instance instances sort sorts
کار کارهایی کارها تفاوت تفاوتی فرق وضعیت وضعیتی نقش دلیل دلایل عامل عاملی عوامل راه راهی نوع نوعی چیز چیزی
مواردی گروه گروهی گروه‌هایی شکل اشکال بخش مسئله مسائل جنبه ویژگی ویژگی‌هایی منافعی فایده جایگاهی
ایراد ایرادی مشکل مشکلی انتقاد انتقادی نمونه نمونه‌هایی مثال مثالی کسانی کسی افرادی فرقی تفاوت‌هایی"""))
# A few question words the paper's text says otherwise (query expansion, both languages).
SYNONYMS = {"twin": "sister", "town": "city", "mou": "memorandum", "mous": "memorandum", "weakness": "shortcoming",
            "strength": "advantage", "obstacle": "challenge", "barrier": "challenge", "gain": "benefit",
            "involved": "presence", "involvement": "presence"}
_YESNO = re.compile(r"^(is|are|does|do|did|can|could|has|have|was|were|will|would|should)\b|^(آیا)")


def is_followup(question: str) -> bool:
    """Does the question lean on an earlier turn? Pronouns and "and …" openings in a short question do;
    a long question that names its own subject ("درباره این مورد: <the full item>") stands alone."""
    norm = normalize(question)
    n_terms = len(content_terms(question))
    if n_terms <= 2:
        return True
    return bool(_FOLLOWUP_EN.search(norm) or _FOLLOWUP_FA.search(norm)) and n_terms <= 8
