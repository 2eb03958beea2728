"""The catalogs as a translator would check them: complete, same placeholders, typography."""

from __future__ import annotations

import ast
import datetime as dt
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from ground.config import PRIORITIES, load_config
from handlers.commands import REGISTRY
from handlers.deadline_commands import priority_label
from handlers.i18n import CATALOGS, Translator, format_when, language_name, locale_for
from handlers.stats.warnings import Warning, render_warning
from tests.conftest import EXAMPLE_CONFIG

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = sorted(p.name for p in CATALOGS.iterdir() if (p / "LC_MESSAGES").is_dir())
# Methods whose first text argument (after an optional person) is a msgid.
CALLS = {"t": 0, "t_space": 0, "t_for": 1, "translate": 1}
# The fiche file checker's problems are msgids too: a refused draft edit or approval says
# them in the reader's language (handlers/drafts.py).
CHECKER = (ROOT / "knowledge" / "fiche.py", {"problem": 1})
NARROW = "\u202f"


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def template() -> Catalog:
    return read(CATALOGS / "messages.pot")


def catalog(language: str) -> Catalog:
    return read(CATALOGS / language / "LC_MESSAGES" / "messages.po", language)


def messages(cat: Catalog) -> list[Message]:
    return [m for m in cat if m.id]


def msgid(m: Message) -> str:
    return m.id if isinstance(m.id, str) else m.id[0]


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "text" assignments, so t(NAME) is found too."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def _called(call: ast.Call) -> str:
    """The name a call is made by: ``turn.t(…)`` and a passed-in ``t(…)`` alike."""
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return call.func.id if isinstance(call.func, ast.Name) else ""


def messages_in_code() -> dict[str, str]:
    """Every msgid the code passes to t/t_for/translate, with where it is used."""
    found: dict[str, str] = {}
    files = [(p, CALLS) for f in ("handlers", "bot") for p in sorted((ROOT / f).rglob("*.py"))]
    for path, calls in [*files, CHECKER]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _constants(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            position = calls.get(_called(node))
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            text = None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                text = arg.value
            elif isinstance(arg, ast.Name):
                text = names.get(arg.id)
            if text:
                found.setdefault(text, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def plural_calls_in_code() -> dict[tuple[str, str], str]:
    """Every (singular, plural) pair the code passes to tn/translate_plural."""
    found: dict[tuple[str, str], str] = {}
    for folder in ("handlers", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                first = {"tn": 0, "translate_plural": 1}.get(_called(node))
                if first is None:
                    continue
                pair = node.args[first : first + 2]
                if len(pair) == 2 and all(isinstance(a, ast.Constant) for a in pair):
                    key = (str(pair[0].value), str(pair[1].value))  # type: ignore[attr-defined]
                    found[key] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_walk_finds_the_code_messages() -> None:
    assert len(messages_in_code()) > 60


def test_every_code_message_is_in_the_template() -> None:
    known = {msgid(m) for m in messages(template())}
    missing = [
        f"{where}: {text!r}" for text, where in messages_in_code().items() if text not in known
    ]
    assert not missing, "add to handlers/locale/messages.pot:\n" + "\n".join(sorted(missing))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_not_fuzzy(language: str) -> None:
    translated = {msgid(m): m for m in messages(catalog(language))}
    problems = []
    for m in messages(template()):
        own = translated.get(msgid(m))
        strings = own.string if own else None
        if own is None or not strings or (isinstance(strings, tuple) and not all(strings)):
            problems.append(f"{language}: untranslated msgid {msgid(m)!r}")
        elif own.fuzzy:
            problems.append(f"{language}: fuzzy msgid {msgid(m)!r}")
    for text in messages_in_code():
        if text not in translated:
            problems.append(f"{language}: missing msgid {text!r} (used in code)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_the_english(language: str) -> None:
    problems = []
    for m in messages(catalog(language)):
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        expected = set().union(*(placeholders(i) for i in ids))
        for text in strings:
            if text and placeholders(text) != expected:
                problems.append(f"{language}: {msgid(m)!r} has {sorted(placeholders(text))}")
    assert not problems, "\n".join(problems)


def strings(m: Message) -> tuple[str, ...]:
    return tuple(s or "" for s in (m.string if isinstance(m.string, tuple) else (m.string,)))


def test_french_uses_a_narrow_no_break_space_before_high_punctuation() -> None:
    problems = [
        f"fr: {msgid(m)!r}: {text!r}"
        for m in messages(catalog("fr"))
        for text in strings(m)
        if re.search(r"(^|[^\u202f])[:;!?%]", re.sub(r"https?://\S+|\d+:\d+", "", text))
    ]
    assert not problems, "use U+202F before : ; ! ? and %:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", ["fr", "it"])
def test_french_and_italian_use_the_typographic_apostrophe(language: str) -> None:
    problems = [
        f"{language}: {msgid(m)!r}: {text!r}"
        for m in messages(catalog(language))
        for text in strings(m)
        if re.search(r"\w'\w", text)
    ]
    # Topic names are inserted into these messages: they follow the same sheet.
    config = load_config(EXAMPLE_CONFIG, environ={})
    problems += [
        f"{language}: topic {topic.id}: {topic.names[language]!r}"
        for topic in config.topics
        if re.search(r"\w'\w", topic.names.get(language, ""))
    ]
    assert not problems, "write ’ (docs/style), not ':\n" + "\n".join(problems)


def test_greek_question_mark_ends_a_question_only() -> None:
    # ';' is the Greek question mark: it ends the sentence (use '·' for a semicolon).
    problems = [
        f"el: {msgid(m)!r}: {text!r}"
        for m in messages(catalog("el"))
        for text in strings(m)
        if re.search(r";(?!\s*$)(?!\s+[\u0386-\u038f\u0391-\u03a9A-Z/(])", text)
    ]
    assert not problems, "Greek ';' is a question mark, not a semicolon:\n" + "\n".join(problems)


def test_bulgarian_polite_pronouns_are_capitalised() -> None:
    # docs/style/bg.md: the asker and each expert are addressed as "Вие", always capitalised.
    problems = [
        f"bg: {msgid(m)!r}: {text!r}"
        for m in messages(catalog("bg"))
        for text in strings(m)
        if re.search(r"(?<![\w])(ви|вие|ваш\w*)(?!\w)", text)
    ]
    assert not problems, "capitalise Ви, Вие, Ваш…:\n" + "\n".join(problems)


def test_no_informal_address_in_italian_polish_or_spanish() -> None:
    informal = {
        "it": r"\b(tu|tuo|tua|tuoi|tue|ti)\b",
        "pl": r"\b(ty|twój|twoja|twoje|twojego|twojej|tobie|ciebie)\b",
        "es": r"\b(tú|tu|tus|te|ti)\b",
    }
    problems = [
        f"{language}: {msgid(m)!r}: {text!r}"
        for language, pattern in informal.items()
        for m in messages(catalog(language))
        for text in strings(m)
        if re.search(pattern, text, re.IGNORECASE)
    ]
    assert not problems, "address the reader formally:\n" + "\n".join(problems)


# "#12" is English: each language writes its own number sign, joined by a no-break space.
NUMBER_SIGN = {
    "bg": "№",
    "de": "Nr.",
    "el": "αρ.",
    "es": "n.º",
    "fr": "n°",
    "it": "n.",
    "pl": "nr",
    "pt": "n.º",
    "ro": "nr.",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_numbers_take_the_languages_sign(language: str) -> None:
    sign = NUMBER_SIGN[language]
    problems = [
        f"{language}: {msgid(m)!r}: {text!r}"
        for m in messages(catalog(language))
        for text in strings(m)
        for name in re.findall(r"#\{(\w+)\}", msgid(m))
        if f"{sign}\u00a0{{{name}}}" not in text or "#{" in text
    ]
    assert not problems, f"write '{sign}\\u00a0{{N}}' (docs/style):\n" + "\n".join(problems)


def test_german_capitalises_a_sentence_after_a_colon() -> None:
    # docs/style/de.md: a full sentence after a colon starts with a capital; these words
    # open one ("…: bitte antworten Sie" is wrong, "…: eine kürzere Frist" is a fragment).
    problems = [
        f"de: {msgid(m)!r}: {text!r}"
        for m in messages(catalog("de"))
        for text in strings(m)
        if re.search(r": (bitte|es|ich|wir|sie|er) ", text)
    ]
    assert not problems, "capitalise the sentence after the colon:\n" + "\n".join(problems)


# -- values inserted into messages --------------------------------------------------------


def test_no_translation_carries_an_english_topic_id_or_level() -> None:
    config = load_config(EXAMPLE_CONFIG, environ={})
    words = [t.id for t in config.topics] + [f"priority {level}" for level in PRIORITIES]
    problems = [
        f"{language}: {msgid(m)!r} contains {word!r}"
        for language in LANGUAGES
        for m in messages(catalog(language))
        for text in strings(m)
        for word in words
        if word in text
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_topic_has_a_name_in_every_language(language: str) -> None:
    config = load_config(EXAMPLE_CONFIG, environ={})
    for topic in config.topics:
        assert topic.names.get(language), f"topics: {topic.id} has no names.{language}"
        assert config.topic_name(topic.id, language) == topic.names[language]
    assert config.topic_name("work-based-learning", "fr") == "Formation en milieu de travail"
    assert config.topic_name("no-such-topic", "fr") == "no-such-topic"


def test_priority_levels_are_shown_in_the_readers_words() -> None:
    texts = Translator(["fr", "pl"])
    assert priority_label("high", lambda m: texts.translate("fr", m)) == "haute"
    assert priority_label("urgent", lambda m: texts.translate("pl", m)) == "pilny"
    assert priority_label("high", lambda m: texts.translate("en", m)) == "high"


def test_portuguese_language_names_and_dates_are_european() -> None:
    assert language_name("pl", "pt") == "polaco"  # Brazilian Babel data says "polonês"
    assert locale_for("pt") == "pt_PT"


def test_greek_language_names_are_lower_case_in_a_sentence() -> None:
    assert language_name("pt", "el") == "πορτογαλικά"
    assert language_name("el", "el") == "ελληνικά"
    assert language_name("pt", "de") == "Portugiesisch"  # German nouns keep their capital


def test_german_dates_have_the_ordinal_dot() -> None:
    when = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
    assert "2. März 2026" in format_when(when, "de", "Europe/Berlin")
    assert "2 mars 2026" in format_when(when, "fr", "Europe/Paris")


def test_warnings_name_the_topic_in_the_readers_language() -> None:
    config = load_config(EXAMPLE_CONFIG, environ={})
    texts = Translator(["fr"])
    warning = Warning("no_expert", {"topic": "eu-funding", "language": "el"})
    text = render_warning(
        warning,
        lambda m, **v: texts.translate("fr", m, **v),
        lambda code: language_name(code, "fr"),
        lambda topic: config.topic_name(topic, "fr"),
    )
    assert "eu-funding" not in text and "Financements européens" in text and "grec" in text


# One term per concept (the glossaries of docs/style): an English message naming the concept
# has the glossary's word in every translation, so "Steckbriefe" beside "Praxisblätter",
# "фишове" beside "карти" or "escalonamento" beside "escalamento" cannot come back.
GLOSSARY = {
    "fiche": {
        "bg": "карт",
        "de": "praxisbl",
        "el": "δελτ",
        "es": "ficha",
        "fr": "fiche",
        "it": "sched",
        "pl": "kart",
        "pt": "ficha",
        "ro": "fiș",
    },
    "expert": {
        "bg": "експерт",
        "de": "fachperson|fachleute",
        "el": "εμπειρογν",
        "es": "expert",
        "fr": "expert",
        "it": "espert",
        "pl": "ekspert",
        "pt": "especialista",
        "ro": "exper[tț]",
    },
    "escalation": {
        "bg": "ескалац",
        "de": "eskalation",
        "el": "κλιμ[άα]κ",
        "es": "escalad",
        "fr": "escalade",
        "it": "escalation",
        "pl": "eskalac",
        "pt": "escalament",
        "ro": "escalad",
    },
    "deadline": {
        "bg": "срок",
        "de": "frist",
        "el": "προθεσμ",
        "es": "plazo",
        "fr": "délai",
        "it": "scadenz",
        "pl": "termin",
        "pt": "prazo",
        "ro": "termen",
    },
    "resolved": {
        "bg": "реш",
        "de": "gelöst",
        "el": "επιλ",
        "es": "resuel",
        "fr": "résolu",
        "it": "risolt",
        "pl": "rozwiąz",
        "pt": "resolvid",
        "ro": "rezolvat",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_concept_keeps_its_glossary_term(language: str) -> None:
    problems = [
        f"{language}: {msgid(m)!r} says {concept!r}: {text!r}"
        for m in messages(catalog(language))
        # Not a command's name (/resolve) nor a placeholder ({experts}).
        if (english := re.sub(r"/\w+|\{\w+\}", "", msgid(m)))
        for concept, words in GLOSSARY.items()
        if re.search(rf"\b{concept[:6]}", english, re.IGNORECASE)
        for text in strings(m)
        if not re.search(words[language], text, re.IGNORECASE)
    ]
    assert not problems, "use the glossary's term (docs/style):\n" + "\n".join(problems)


# A language name comes from Babel in the nominative: Polish sets it where no case is needed
# (docs/style/pl.md), never as the object of a verb ("nie zna języka grecki", "mówiącego grecki").
POLISH_NAME_SLOT = re.compile(r"(w języku: |: |\(|, |język )\{(language|speakers)\}")


def test_polish_language_names_stand_where_no_case_is_needed() -> None:
    problems = [
        f"pl: {msgid(m)!r}: {text!r}"
        for m in messages(catalog("pl"))
        if "file name" not in msgid(m)  # there {language} is a file name, not a language
        for text in strings(m)
        if text.count("{language}") + text.count("{speakers}")
        != len(POLISH_NAME_SLOT.findall(text))
    ]
    assert not problems, "write 'w języku: {language}':\n" + "\n".join(problems)


# Spelling a sheet states as a rule, wherever it applies (docs/style/bg.md, ro.md).
SPELLING = {
    "bg": (r"(?<!\w)([вВ] [вфВФ]|[сС] [сзСЗ])", "във before в/ф, със before с/з (във вече)"),
    "ro": (r"[şţŞŢ]", "comma-below ș ț, not the cedilla ş ţ"),
}


@pytest.mark.parametrize("language", sorted(SPELLING))
def test_spelling_rules_of_the_style_sheets(language: str) -> None:
    pattern, rule = SPELLING[language]
    config = load_config(EXAMPLE_CONFIG, environ={})
    texts = [(msgid(m), text) for m in messages(catalog(language)) for text in strings(m)]
    texts += [(f"topic {t.id}", t.names.get(language, "")) for t in config.topics]
    problems = [
        f"{language}: {where!r}: {text!r}" for where, text in texts if re.search(pattern, text)
    ]
    assert not problems, f"{rule}:\n" + "\n".join(problems)


# Terms the style sheets (docs/style/<lang>.md) rule out, with the word to use instead.
FORBIDDEN = {
    "bg": {"фиш": "карта", " в вече": "във вече", "Покажи ": "Покажете"},
    "de": {
        "Steckbrief": "Praxisblatt",
        "erledigt": "gelöst",
        "Erledigung": "Lösung",
        "in Worten": "als Text",
    },
    "es": {"Envíame": "Envíeme", "Bienvenido": "Le damos la bienvenida"},
    "fr": {"toutes lettres": "par écrit"},
    "it": {
        "Inviami": "Mi invii",
        "Il tuo": "Il Suo",
        "Aspettatevi": "Può aspettarsi",
        "Mostra ": "Vedere (a button in the infinitive, not the tu imperative)",
        "Benvenut": "Le diamo il benvenuto",
    },
    "pl": {
        "fiszk": "karta",
        "Pan/Pani": "proszę + bezokolicznik",
        "Twoj": "—",
        "Twój": "—",
        "Pokaż": "a noun (Pełna treść karty), not the informal imperative",
    },
    "el": {"Προβολή ": "Δείτε (a button speaks to the asker, not a bare noun)"},
    "pt": {
        "scalonamento": "escalamento",
        "Bem-vindo": "Damos-lhe as boas-vindas",
        "Obrigad": "Agradecemos (the network thanks, in no gender)",
    },
    "ro": {"Corectură": "Corectare"},
}


@pytest.mark.parametrize("language", sorted(FORBIDDEN))
def test_style_sheet_terms(language: str) -> None:
    problems = [
        f"{language}: {msgid(m)!r} uses {word!r}; write {instead!r}"
        for m in messages(catalog(language))
        for text in strings(m)
        for word, instead in FORBIDDEN[language].items()
        if word in text
    ]
    assert not problems, "\n".join(problems)


# Command descriptions (/help, Telegram's menu) take one form in a language (docs/style):
# a first word with this ending is the form the sheet rules out.
COMMAND_FORM = {
    "pl": ("ć", "a verbal noun (przejęcie), not an infinitive (przejąć)"),
    "el": ("τε", "a verbal noun (ανάληψη), not an imperative (αναλάβετε)"),
}


@pytest.mark.parametrize("language", sorted(COMMAND_FORM))
def test_command_descriptions_take_the_style_sheets_form(language: str) -> None:
    texts = Translator([language])
    ending, form = COMMAND_FORM[language]
    problems = [
        f"{language}: {c.help!r}: {shown!r}"
        for c in REGISTRY
        if (shown := texts.translate(language, c.help)).split()[0].endswith(ending)
    ]
    assert not problems, f"write {form}:\n" + "\n".join(problems)


# -- plural forms -------------------------------------------------------------------------

NPLURALS = {"pl": 3, "ro": 3}
# A count placeholder before a plural noun: "{minutes} minutes", "{rated} ratings" ({first} and
# {resolution} are percentages; "{language} on this topic" counts nothing).
COUNTED = re.compile(
    r"\{(?!number\b|author\b|name\b|people\b|when\b|first\b|resolution\b|language\b)"
    r"\w+\} (\w+ )?\w{2,}s\b"
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_states_its_plural_rule(language: str) -> None:
    path = CATALOGS / language / "LC_MESSAGES" / "messages.po"
    assert '"Plural-Forms: nplurals=' in path.read_text(encoding="utf-8"), f"{language}: no header"
    cat = catalog(language)
    assert cat.num_plurals == NPLURALS.get(language, 2), language
    for m in messages(cat):
        if isinstance(m.id, tuple):
            assert len(m.string) == cat.num_plurals, f"{language}: {msgid(m)!r} forms"


def test_every_counted_message_in_code_has_plural_forms() -> None:
    plural_ids = {msgid(m): m.id for m in messages(template()) if isinstance(m.id, tuple)}
    calls = plural_calls_in_code()
    assert calls, "the code calls no plural translation"
    for (singular, plural), where in calls.items():
        assert plural_ids.get(singular) == (singular, plural), f"{where}: add msgid_plural to .pot"
    counted = [
        f"{where}: {text!r}" for text, where in messages_in_code().items() if COUNTED.search(text)
    ]
    assert not counted, "use turn.tn(singular, plural, n) for:\n" + "\n".join(counted)


@pytest.mark.parametrize(
    ("language", "n", "expected"),
    [
        ("pl", 1, "1 minutę"),
        ("pl", 3, "3 minuty"),
        ("pl", 5, "5 minut"),
        ("pl", 22, "22 minuty"),
        ("ro", 1, "1 minut:"),
        ("ro", 5, "5 minute"),
        ("ro", 20, "20 de minute"),
        ("ro", 101, "101 minute"),
        ("fr", 1, "1\u00a0minute\u202f:"),
        ("en", 2, "2 minutes"),
    ],
)
def test_plural_forms_follow_each_language(language: str, n: int, expected: str) -> None:
    text = Translator([language]).translate_plural(
        language,
        "Your dashboard link, valid once for {minutes} minute: {url}",
        "Your dashboard link, valid once for {minutes} minutes: {url}",
        n,
        minutes=n,
        url="https://example.org/link",
    )
    assert expected in text
