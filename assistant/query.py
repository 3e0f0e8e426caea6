"""What a question asks: its language, content words, answer type, the entities it names, and how much
of it the document knows.

Nothing here knows the paper. The answer type comes from a classifier trained on the document's question
keys (qtype.py); entities come from the document's profile (profile.py); "does the document know this
word?" is asked of its own vocabulary (passages, keys and profile), forgiving typos (fuzzy.py). What stays
written here is language-general: stop words, interrogatives ("how many", «چند»), comparators ("more than",
«بیش از»), pronouns that mark a follow-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .fuzzy import FuzzyVocab
from .normalize import NUMBER, NUMBER_WORDS, normalize, number_runs, tokens
from .profile import Profile
from .types import Analysis, Lang, Superlative  # Analysis lives in types.py; imported from here too

_FA_LETTERS = re.compile("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTERS = re.compile("[A-Za-z]")


def detect_language(text: str) -> Lang:
    """'fa' when Persian letters make up a fair share of the letters, else 'en'.

    Mixed questions ("WHO چه اهدافی دارد؟") are Persian: acronyms and names in Latin
    script are common inside Persian sentences, the reverse is rare.
    """
    fa = len(_FA_LETTERS.findall(text))
    latin = len(_LATIN_LETTERS.findall(text))
    if fa == 0:
        return "en"
    return "fa" if fa >= 0.25 * (fa + latin) or fa >= 6 else "en"


def as_lang(value: object) -> Lang | None:
    """A language asked for by name ("fa" or "en"); None for anything else (then it is detected)."""
    return "fa" if value == "fa" else "en" if value == "en" else None


STOP_EN = set(
    """a an the of in on at to for from by with about into over under and or but not no is are was were be been
being do does did done have has had having what which who whom whose when where why how whether it its it's they them
their theirs this that these those there here he she his her we our you your i me my as than then so such can could may
might must shall should will would also any all some each every both either neither other others more most many much
few one ones per via vs according paper article study authors author say says said state states stated mention mentions
mentioned list lists listed name names named give gives given tell describe describes show shows shown does please
kind kinds type types way ways thing things between among within without against during before after up down out off
again just only very too own same s t don't doesn't isn't aren't what's which's do roughly approximately about
around exactly currently today now still yet abstract introduction conclusion section paragraph""".split()
)

STOP_FA = set(
    tokens("""و در به از که این آن با برای را تا یا هم نیز اما ولی اگر چه چی چیست چیه کدام کدامند کدامیک است هست
هستند بود بودند شد شده شود شوند می نمی کرد کرده کند کنند دارد دارند داشت داشته ای ها های ی یک بر روی پس پیش
چند چقدر مقدار چگونه چطور چرا کجا کی آیا را ترتیب همه هر دیگر خود خویش ما شما او ایشان آنها آن‌ها اینها این‌ها
مقاله مقالهٔ نویسنده نویسندگان پژوهش طبق بر اساس براساس گفته آمده ذکر اشاره بگویید بنویسید نام ببرید فهرست
کنید کن می‌کند باشد باشند نیست نیستند وجود بیان آنچه چه‌چیزی چیزی موارد مورد عبارتند
کدوم کدوما کدوم‌ها کدوم‌هاش چیه چیا چطوری چجوری میشه می‌شه هستن بودن کی چی اومده اومد داره دارن کردن کرده
میگن می‌گن می‌گه میگه چقدره تو توی رو اینو اونو اونا اون این‌ها بهش ازش دیگه خب حالا آخه یعنی کنن بکنند بکنن
بشه شدن شده‌اند شده‌ان هستش بوده‌اند گفته‌اند دقیقا دقیقاً لطفا لطفاً بگو بگید توضیح بده الان اکنون هنوز
چکیده مقدمه برا واسه واسه‌ی چیا چیان کدوما کدومان کدومه کدومن چیاست چین هستش داریم میشن شدن کن بگین هایی
کیست کیستند چیستند کجاست کیه""")
    # Suffixes and clitics that a half-space separates from their word («نسبی‌اش», «سازمان‌هایشان», «بزرگ‌ترین»):
    # the word's endings, not words.
    + tokens("اش ام ات مان تان شان هایش هایم هایت هایمان هایتان هایشان ایم اید اند تر ترین شون مون تون")
)

# Interrogatives and comparators: language-general forms, not topics.
# "how many of its 95 programmes ...": the counted noun follows the number the partitive states.
_COUNTED_EN = re.compile(
    r"\bhow many of\b[^?]*?\b[0-9]+ (\w+(?: \w+)?)|\bhow many of (?:the|its|their|these|those) (\w+(?: \w+)?)|"
    r"\bhow many (\w+(?: \w+)?)|"
    # An amount of something ("how much money", "how much foreign investment"); not "how much does it cost".
    r"\bhow much (?!(?:does|do|did|has|have|had|is|are|was|were|will|would|can|could|of|more|less)\b)(\w+(?: \w+)?)"
)
_PERCENT_EN = re.compile(r"\bwhat (?:percentage|percent|proportion)\b")
_COUNTED_FA = re.compile(r"(?:چند(?:\s*تا)?|چه (?:مقدار|میزان))\s+([^\s؟?]+(?: [^\s؟?]+)?)")
_TABLE_EN = re.compile(r"\btables?\s*(\d+(?:\s*(?:,|and|or|&|vs\.?|versus)\s*\d+)*)\b", re.I)
_TABLE_FA = re.compile(r"(?:جدول|جداول)(?:\s*ها(?:ی)?)?\s*(?:شماره\s*)?([0-9]+(?:\s*(?:،|,|و|یا)\s*[0-9]+)*)")
_ROW = re.compile(r"\brow\b|ردیف")
_MORE = r"more than|over|greater than|above|at least|exceeding|بیش از|بیشتر از|بالای|حداقل|فراتر از"
_LESS = r"less than|fewer than|under|below|at most|کمتر از|زیر|حداکثر"
_COMPARATOR = re.compile(rf"(?:({_MORE})|({_LESS}))\s*([0-9][0-9,]*)")
# A superlative ("the newest", "its largest", «جدیدترین»; "the most member countries", «بیشترین کشور عضو»):
# forms of the language. "The most X" / «بیشترین X» counts the noun that follows; "most of" ("where are most of its
# programmes") is no superlative, nor an English noun that ends in -est ("the west").
_MOST = re.compile(
    r"\b(most)\s+(?!of\b|are\b|is\b|were\b|was\b)([a-z]+(?: [a-z]+)?)|"
    r"(?<!\S)(بیشترین|از همه بیشتر)\s+([^\s؟?]+(?: [^\s؟?]+)?)"
)
_WORD_SUPERLATIVE = re.compile(
    r"\b(?:the|its|their|[a-z]+'s)\s+([a-z]{2,}est|least)\b|(?<!\S)(\S+ ?ترین)(?!\S)|(?<!\S)از همه (\S+ ?تر)(?!\S)"
)
_NOT_SUPERLATIVE = {
    "rest",
    "west",
    "interest",
    "test",
    "request",
    "forest",
    "guest",
    "quest",
    "contest",
    "protest",
    "harvest",
    "nest",
    "chest",
    "conquest",
    "arrest",
    "manifest",
    "digest",
    "inquest",
    "honest",
    "modest",
    "suggest",
    "invest",
    "earnest",
}
# The noun a which/what question asks about ("which journal", «چه سالی», «عنوان ... چیست»).
_FOCUS_EN = re.compile(r"\b(?:which|what)\s+(?:was |is |were |are )?(?:the )?(?:(?:main|exact|specific) )?([a-z]+)")
_FOCUS_FA = re.compile(r"(?:چه مقدار|چه میزان|چه|کدام|کدوم)\s+([^\s؟?]+)")
_FOCUS_FA_END = re.compile(r"^\s*([^\s؟?]+)[^؟?]*\s(?:چیست|چیه|چه بود|کدام است)\s*[؟?]?\s*$")
# Nouns that frame a question rather than name what it wants ("what kind of", «چه نوع»).
_FRAMING = {
    "kind",
    "kinds",
    "type",
    "types",
    "way",
    "ways",
    "thing",
    "things",
    "sort",
    "role",
    "part",
    "extent",
    "نوع",
    "نوعی",
    "چیز",
    "چیزی",
    "چیزهایی",
    "شکل",
    "کار",
    "کارهایی",
    "راه",
    "راهی",
    "نقش",
    "مواردی",
    "جوری",
}
# The interrogatives that fix the answer type whatever the topic (the classifier, trained on a document's keys,
# can lean on the topic: "which year ... sister cities" looks like the many "which ... sister cities" keys).
_ASKS = {
    "year": re.compile(
        r"\b(?:what|which) year\b|\bin what year\b|\bwhen (?:was|were|did|do|is|are|does|will|would|has|have|had)\b|"
        r"\bsince when\b|"
        r"\bwhat date\b|چه سال|کدام سال|کدوم سال|چه تاریخی|از چه زمانی|از کی|چه زمانی"
    ),
    "number": re.compile(
        r"\bhow (?:many|much)\b|\bwhat (?:percentage|share|number|proportion)\b|چند|چقدر|چه تعداد|چه مقدار|چه میزان"
    ),
    "person": re.compile(
        r"\bwho\b|\bwhom\b|\bwhose\b|چه کسی|چه کسانی|کدام شخص|(?<!\w)(?:کیا|کیه|کیو|کیست|کیستند)(?!\w)"
    ),
}
# A name asked for ("what was the name of ...", «اسم ... چیه»): a person only when the classifier reads one too.
# A person's name asked anywhere in the question ("which mayor proposed it? what's his name?"): a person asked.
_HIS_NAME = re.compile(r"\b(?:his|her) (?:full )?name\b")
_NAME_ASKED = re.compile(
    r"\bnames?\b|(?<!\w)(?:نام|اسم)(?!\w)|"
    # Who someone is ("who is the current mayor?", «شهردار فعلی کیه؟»): a name, not the title the question gives.
    r"\bwho(?:'s| is| was| are| were) (?:the|its|their|his|her)\b|(?<!\w)(?:کیه|کیست|کیستند|کیان)\s*[؟?]?\s*$"
)
# The name or title of something asked for ("the title of", "what is it called", «اسمش چیه», «عنوان ... چیست»; not
# «به عنوان», "as"): the evidence must give one (decision.py). "Name two challenges" asks for no name.
_TITLE_ASKED = re.compile(
    r"\b(?:title|name) of\b|\bofficial (?:title|name)\b|\b(?:is|are|was|were) (?:it|they|this|that) called\b|"
    r"\bwhat(?:'s| is| are)? (?:it|they|this|that)? ?called\b|\bcalled\s*[?؟]?\s*$|(?<!به )(?<!\w)عنوان(?!\w)|"
    r"(?<!\w)(?:اسم|نام)(?:ش|شان|شون)?(?!\w)[^؟?]*(?:چیه|چیست|چه بود|چی بود|چی هست)|چه نامی? دارد"
)
# A reason asked for ("why", «چرا», «به چه دلیل»): the evidence must give one (decision.py).
_WHY_ASKED = re.compile(
    r"\bwhy\b|\bhow come\b|\bfor what reasons?\b|\bwhat (?:is|was|are|were) the reasons?\b|\bmotiv(?:e|es|ated|ation)\b|"
    r"\bwhat (?:drove|drives|led to|leads to)\b|(?<!\w)چرا(?!\w)|به چه (?:دلیل|علت|سبب)|(?<!\w)انگیزه|چه عواملی|"
    r"(?<!\w)(?:دلیل|علت)(?:ش)? (?:چیست|چیه|چه بود)"
)
# A place asked for ("where is ...", «کجاست», "in which city"): the evidence must name one (decision.py). «تا کجا» ("up to
# where") asks how far, an extent, as "how far" does.
_PLACE_ASKED = re.compile(
    r"\bwhere\b|\b(?:which|what) (?:city|country|continent)\b|(?<!\w)(?<!تا )کجا|(?:کدام|کدوم|چه) (?:شهر|کشور|قاره)(?!\S)"
)
_COUNTRY_ASKED = re.compile(r"\b(?:which|what) country\b|(?:کدام|کدوم|چه) کشور(?!\S)")
# Words that ask where a place lies (not where something happened there).
_LOCATED = set(tokens("located situated lie lies lying location country واقع قرار موقعیت کشور"))
_RANKED = re.compile(r"\brank(?:s|ed|ing)?\b|\bstand(?:s|ing)?\b|\bposition\b|\brow\b|(?<!\w)(?:رتبه|جایگاه|رده|ردیف)")
_WHERE = re.compile(r"\bwhere\b|کجا")
_SECTIONS = [  # the parts every paper of this edition format has (ids of the edition scheme)
    ("abstract", re.compile(r"\babstract\b|\bsummary\b|چکیده|خلاصه مقاله")),
    ("intro", re.compile(r"\bintroduction\b|مقدمه")),
    ("conclusion", re.compile(r"\bconclusions?\b|نتیجه گیری|جمع بندی|بخش نتیجه")),
]
_COMPARE = re.compile(
    r"\b(or|compare|compared|comparison|difference|differ|versus|vs|both)\b|"
    r"( یا |مقایسه|تفاوت|فرق|هر دو)"
)
_FOLLOWUP_EN = re.compile(
    r"^(and|also|what about|how about|and what|which of (?:them|those|these))\b|"
    r"\b(it|its|they|them|their|those|these|this one|that one|of them|the same)\b",
    re.I,
)
_FOLLOWUP_FA = re.compile(r"^(و |همچنین|در مورد |درباره |خب |حالا )|کدام یک از|کدامیک از")
# Persian pronouns that point back (matching form: «آن» is «ان» once normalized).
_POINTERS_FA = frozenset(tokens("آن اون آنها اینها اونا ایشان همین اینو اونو کدومشون"))
# Kinds of document: «این مقاله», «این یادداشت» is the document itself, not an earlier turn's subject.
_DOCUMENT_FA = frozenset(tokens("مقاله مقالهٔ پژوهش تحقیق یادداشت گزارش متن نوشته مطالعه کتاب رساله"))
# Persian object/possessive clitics ("تأثیرش": its reach; "اهدافشان": their goals): a reference to an earlier turn.
_CLITICS = ("شان", "شون", "ش")


def content_terms(text: str) -> list[str]:
    return [t for t in tokens(text) if t not in STOP_EN and t not in STOP_FA and (len(t) > 1 or t.isdigit())]


def stem(token: str) -> str:
    """A light stem for matching English plurals/inflections and Persian plural suffixes."""
    if token.isascii():
        for suf in ("ies", "ied", "ing", "ed", "es", "s"):
            if len(token) > len(suf) + 3 and token.endswith(suf):
                return token[: -len(suf)] + ("y" if suf in ("ies", "ied") else "")
        return token
    # Plural endings, with the indefinite «ی» that "which ...?" questions add («چه شهرهایی», «چه اقداماتی»).
    for suf in ("هایی", "های", "ها", "اتی", "ات", "ان", "ای"):
        if len(token) > len(suf) + 2 and token.endswith(suf):
            return token[: -len(suf)]
    return token


def is_comparison(question: str) -> bool:
    return bool(_COMPARE.search(f" {normalize(question)} "))


def is_followup(question: str, known: Callable[[str], bool] | None = None) -> bool:
    """Does the question lean on an earlier turn? A short question does; so does one, not long, that points
    back: "and ..." openings, pronouns, a demonstrative before a noun ("این سازمان"), or a Persian clitic on a
    word (known: is a word spelled so in the document; "تأثیرش" is not, "نقش" is). A long question that names
    its own subject stands alone."""
    norm = normalize(question)
    n_terms = len(content_terms(question))
    if n_terms <= 2:
        return True
    if n_terms > 8:
        return False
    if _FOLLOWUP_EN.search(norm) or _FOLLOWUP_FA.search(norm):
        return True
    toks = tokens(question)
    if _POINTERS_FA & set(toks):
        return True
    # A demonstrative before a noun or a plural ("این سازمان", "این‌ها"); «این مقاله» is the paper itself.
    if any(t == "این" and (nxt == "ها" or nxt not in STOP_FA | _DOCUMENT_FA) for t, nxt in zip(toks, toks[1:])):
        return True
    return known is not None and any(_has_clitic(t, known) for t in toks)


def _has_clitic(word: str, spelled: Callable[[str], bool]) -> bool:
    """A word the document never spells so, ending in a clitic after at least three letters ("نفوذش")."""
    if word.isascii() or spelled(word):
        return False
    return any(word.endswith(c) and len(word) - len(c) >= 3 for c in _CLITICS)


_WH_EN = {"what", "which", "who", "whom", "whose", "when", "where", "why", "how"}


# Colloquial «کی» is "who" (ki) or "when" (kay). After a preposition or the object marker, or opening the question,
# it is the person ("با کی", "... رو کی راه انداخت؟", "کی نوشته؟"); after the subject it asks when ("این قرارداد کی
# امضا شد؟"); before a copula it is the person ("رئیسش کی بود؟"). «از کی» (since when) is read by _ASKS.
# Read by hand, it is right for 24 of the 28 corpus keys and near misses that use «کی».
_KI_PERSON_BEFORE = {"رو", "را", "با", "به", "نظر", "برای", "واسه", "مال", "پیش", "توسط", "و"}


def _ki(norm: str, names: set[str] | frozenset[str] = frozenset()) -> str | None:
    """names: the words of the names the question uses (a name has no owner: «با <name> کی» asks when)."""
    toks = norm.replace("؟", " ").replace("?", " ").split()
    if "کی" not in toks:
        return None
    i = toks.index("کی")
    if i > 0 and toks[i - 1] == "از":
        return None
    if i == 0 or toks[i - 1] in _KI_PERSON_BEFORE or toks[i + 1 : i + 2] in (["بود"], ["هست"], ["است"], ["بوده"]):
        return "person"  # "... کی بود؟": who was
    if i >= 2 and toks[i - 2] in _KI_PERSON_BEFORE - {"و", "رو", "را"} and not set(tokens(toks[i - 1])) & names:
        return "person"  # a preposition's noun whose owner is asked: «به پیشنهاد کی», «با کمک کی» (at whose ...)
    return "year"


def _main_interrogative(norm: str) -> str:
    """The words around an English question's first wh-word ("in what year", "since when", "how many"): a later
    one belongs to a clause ("how does it differ in terms of whom it serves", "the actors who can ..."). Persian
    interrogatives stand where the asked thing stands, so Persian questions are read whole."""
    words = norm.split()
    first = next((i for i, w in enumerate(words) if w.strip("?,.;:!") in _WH_EN), None)
    return norm if first is None else " ".join(words[max(0, first - 1) : first + 3])


def acronyms(texts: list[str]) -> set[str]:
    """The initials of every run of three to five content words the texts write ("gross national product":
    "gnp"): an acronym the document spells out is a word it uses. Two-word runs are left out: their initials
    collide with common acronyms ("effective urbanisation" / "EU")."""
    out: set[str] = set()
    for text in texts:
        for clause in re.split(r"[.;:,()!?\n«»“”\"]", text):
            words = [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]*", clause)]
            for n in (3, 4, 5):
                for i in range(len(words) - n + 1):
                    run = words[i : i + n]
                    if not any(w in STOP_EN for w in run):
                        out.add("".join(w[0] for w in run))
    return out


def _counted(norm: str) -> str | None:
    """The noun of "how many X" / «چند X»; "what percentage of ..." counts percent ("25 percent"), as «چند درصد»."""
    if _PERCENT_EN.search(norm):
        return "percent"
    m = _COUNTED_EN.search(norm) or _COUNTED_FA.search(norm)
    return next((g for g in m.groups() if g), None) if m else None


class Analyzer:
    """Question analysis over one document: its profile, its vocabulary and its answer-type classifier."""

    def __init__(self, profile: Profile, vocabulary: set[str], typer=None):
        self.profile = profile
        self.vocab = FuzzyVocab(vocabulary)
        self.typer = typer

    def spelled(self, word: str) -> bool:
        """Is this exact word (or its plural's stem) one the document uses? No edits forgiven."""
        return word in self.vocab.words or stem(word) in self.vocab.words

    def known(self, word: str) -> bool:
        """Does the document use this word (inflected, colloquial or misspelt by one letter)?"""
        return word in self.vocab or stem(word) in self.vocab or self.vocab.shares_stem(word)

    def _short_year(self, t: str) -> bool:
        """Is a two-digit number a year written short («سال ۹۳» for 1393, "in '94"): one the document states in
        full in some century?"""
        return len(t) == 2 and any(c + t in self.vocab.words for c in ("13", "14", "19", "20"))

    def analyse(self, question: str, query_vec=None, lang: Lang | None = None) -> Analysis:
        lang = lang or detect_language(question)
        norm = normalize(question)
        terms = content_terms(question)
        a = Analysis(lang=lang, terms=terms, raw=question)
        if self.typer is not None and query_vec is not None:
            # The numbers a question states are not what it asks ("which organisation had 5551 members?", "about
            # fifty cities"): the classifier's character n-grams read the question without them, digits or words.
            a.probs = self.typer.probabilities(NUMBER.sub(" ", question), query_vec)
        asked = _main_interrogative(norm) if lang == "en" else norm
        mentions = self.profile.mentions(question)
        a.mentions = [m for m in mentions if not self.profile.is_subject(m.entity)]
        named = {i for m in mentions for i in range(m.start, m.end)}
        qtoks = tokens(question)
        in_names = {qtoks[i] for i in named if i < len(qtoks)}
        a.interrogatives = {t for t, rx in _ASKS.items() if rx.search(norm)}
        when_or_who = _ki(norm, in_names)
        if when_or_who:
            a.interrogatives.add(when_or_who)
        if _NAME_ASKED.search(norm):
            a.interrogatives.add("name")
        if _WHY_ASKED.search(norm):
            a.interrogatives.add("reason")
        if _TITLE_ASKED.search(norm):
            a.interrogatives.add("title")
        # The main clause's: "the countries where it has offices" asks no place; nor does "where does it rank?" or
        # "where is it in the table?" (a position in a ranking or a table, not a place).
        place = _PLACE_ASKED.search(asked)
        if place and not (_RANKED.search(norm) and _WHERE.search(place.group(0))):
            a.interrogatives.add("place")
        his_name = bool(_HIS_NAME.search(norm))
        if his_name:
            a.interrogatives.add("person")
        asked_type = next((t for t, rx in _ASKS.items() if rx.search(asked)), when_or_who) or (
            "person" if his_name else None
        )
        if asked_type:  # an interrogative of that type: at least even odds for it
            a.probs = {k: v * 0.5 for k, v in a.probs.items()} if a.probs else {}
            a.probs[asked_type] = a.probs.get(asked_type, 0.0) + 0.5
        if a.probs:
            a.qtype = max(a.probs, key=lambda t: a.probs[t])
        if "place" in a.interrogatives and not _COUNTRY_ASKED.search(norm):
            # "Where is <city>?" asks where that place lies (its country answers); "where was <the agreement
            # with city> signed?" asks about something else, named by words beside the place's name.
            a.place_of_event = any(t not in in_names and t not in _LOCATED for t in terms)
        a.superlative = superlative(norm)
        # "The most", «بیشترین»: the form of a question that ranks by a count, whether or not the document uses it.
        form_words = set(tokens(a.superlative.word)) if a.superlative and a.superlative.counted else set()
        # So is a bound's ("fewer than 100"): its words are the question's form, not its topic.
        compared = _COMPARATOR.search(norm)
        if compared:
            form_words |= set(tokens(compared.group(1) or compared.group(2) or ""))
        a.unknown = [
            t
            for t in terms
            if t not in in_names
            and not t.isdigit()
            and t not in NUMBER_WORDS
            and not self.known(t)
            and t not in form_words
        ]
        bound = compared.group(3).replace(",", "") if compared else None
        # A number, in digits or in words ("fifty", «صد و چهار»: 104), is known when the document states its value.
        a.unknown += [
            t for t in terms if t.isdigit() and t != bound and t not in self.vocab.words and not self._short_year(t)
        ]
        spelled = []
        if any(t in NUMBER_WORDS for t in terms):
            values = [
                (w, f"{v:.0f}" if v == int(v) else f"{v:g}") for w, v in number_runs(re.sub(r"[0-9]+", " ", norm))
            ]
            spelled = [w for w, v in values if v != bound and v not in self.vocab.words]
            a.unknown += spelled
        caps = {
            re.sub(r"['’]s$", "", w.strip(".,;:!?()'\"’")).lower()  # "Lisbon's" is the name "lisbon"
            for w in re.findall(r"(?<=[\w,;] )([A-Z][\w'’.-]+)", question)
        }
        # Written as a name (a capitalised Latin word) or a number the document never states ("in 2020").
        a.unknown_names = [t for t in a.unknown if t in caps or t.isdigit() or t in spelled]
        runs = _TABLE_EN.findall(norm) + _TABLE_FA.findall(norm)  # "Tables N and M", «جدول N و جدول M»
        a.tables = list(dict.fromkeys(int(x) for run in runs for x in re.findall(r"[0-9]+", run)))
        a.table = a.tables[0] if len(a.tables) == 1 else None  # two tables named: neither alone
        a.section = next((sec for sec, rx in _SECTIONS if rx.search(norm)), None)
        a.counted = _counted(norm)
        m = _FOCUS_EN.search(norm) or _FOCUS_FA.search(norm) or _FOCUS_FA_END.search(norm)
        if (
            m
            and m.group(1) not in STOP_EN
            and m.group(1) not in STOP_FA
            and m.group(1) not in _FRAMING
            and len(m.group(1)) > 2
            and not m.group(1).isdigit()
        ):
            a.focus = m.group(1)
        m = _COMPARATOR.search(norm)
        if m:
            a.comparator = ("gt" if m.group(1) else "lt", float(m.group(3).replace(",", "")))
        a.asks_row = bool(_ROW.search(norm))
        return a


def superlative(norm: str) -> Superlative | None:
    """The superlative a (normalized) question uses, if any: its word, and for "the most X" / «بیشترین X» the
    noun counted."""
    m = _MOST.search(norm)
    if m:
        most, noun = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        counted = " ".join(w for w in noun.split() if w not in STOP_EN and w not in STOP_FA) or None
        return Superlative(most, counted)
    for m in _WORD_SUPERLATIVE.finditer(norm):
        word = next(g for g in m.groups() if g)
        if word not in _NOT_SUPERLATIVE:
            return Superlative(word)
    return None
