"""Folding and tokenising: the view of a tip every rule is matched against."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

import triage
from triage import normalize
from triage.normalize import NUMBER, PUNCT, WORD, fold, tokenize


@pytest.fixture(scope="module")
def lexicon():
    return triage.load_rules().lexicon


def words(text: str, lexicon=None) -> list[str]:
    tokens = tokenize(text) if lexicon is None else tokenize(text, lexicon)
    return [t.text for t in tokens if t.kind != PUNCT]


# -- folding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bé gái bị nhốt", ["be", "gai", "bi", "nhot"]),
        ("Đà Nẵng", ["da", "nang"]),
        ("đường dây", ["duong", "day"]),
        ("ĐƯỜNG DÂY BUÔN NGƯỜI", ["duong", "day", "buon", "nguoi"]),
        ("Hộ Chiếu", ["ho", "chieu"]),
        ("Quảng Ngãi", ["quang", "ngai"]),
        ("giữ hộ chiếu", ["giu", "ho", "chieu"]),
    ],
)
def test_fold_drops_diacritics_and_case(text, expected):
    """Diacritics and case are dropped and đ/Đ becomes d."""
    assert words(text) == expected


def test_fold_keeps_one_character_per_code_point():
    """fold() maps every code point to exactly one character, so offsets stay one to one."""
    text = "Cháu bé ở Đắk Lắk 😢 \ud800 bị đánh"
    nfd = unicodedata.normalize("NFD", text)
    assert len(fold(text)) == len(text)
    assert len(fold(nfd)) == len(nfd)


@pytest.mark.parametrize(
    "text",
    [
        "Con gái tôi mười bốn tuổi bị đưa sang Trung Quốc",
        "Chị Hường ở Hà Tĩnh bị giữ hộ chiếu, không được về",
        "ĐỨA BÉ SƠ SINH BỊ BỎ RƠI Ở ĐỒNG THÁP",
        "Người gọi nói cháu Nguyễn Thị Thủy học lớp 9, mất liên lạc từ tối qua",
    ],
)
def test_nfd_input_gives_identical_token_texts(text, lexicon):
    """Decomposed Unicode gives the same tokens as composed text, with or without the lexicon."""
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert words(nfd) == words(text)
    assert words(nfd, lexicon) == words(text, lexicon)
    assert [t.kind for t in tokenize(nfd, lexicon)] == [t.kind for t in tokenize(text, lexicon)]


@pytest.mark.parametrize(
    "text",
    [
        "Bé gái 14 tuổi bị nhốt ở nhà nghỉ, cứu với!",
        "Chị tôi  bị   giữ hộ chiếu ở Đài Loan... gọi 0912 345 678",
        "ĐỨA BÉ bị bỏ rơi trước cổng chùa Hương",
        "sinh ngày 10/9/2008; hiện ở Móng Cái\nxin giúp",
    ],
)
@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_token_offsets_slice_the_original_text(text, form, lexicon):
    """Every token's (start, end) slices the text as given, marks after its letters included."""
    original = unicodedata.normalize(form, text)
    tokens = tokenize(original, lexicon)
    assert tokens
    for token in tokens:
        assert 0 <= token.start < token.end <= len(original), token
        piece = original[token.start:token.end]
        # The span starts on a base character and swallows the marks after it.
        assert unicodedata.category(piece[0]) != "Mn", (token, piece)
        if token.end < len(original):
            assert unicodedata.category(original[token.end]) != "Mn", (token, piece)
    # Without rewrites, each word's text is the folded slice (repeated letters aside).
    for token in tokenize(original):
        piece = original[token.start:token.end]
        joined = token.kind == NUMBER and not piece.replace(".", "").replace(":", "").replace(
            "/", "").isdigit()  # a phone number written in groups is one token
        if token.kind in (WORD, NUMBER) and len(set(token.text)) == len(token.text) and not joined:
            assert fold(piece).replace("\x00", "") == token.text, (token, piece)


def test_nfd_offsets_match_composed_offsets():
    """The NFD span of a token, recomposed, is the same text as the composed span."""
    text = "Cháu Hường bị đánh ở Quảng Trị"
    nfd = unicodedata.normalize("NFD", text)
    composed = tokenize(text)
    decomposed = tokenize(nfd)
    assert len(composed) == len(decomposed)
    for a, b in zip(composed, decomposed, strict=True):
        assert unicodedata.normalize("NFC", nfd[b.start:b.end]) == text[a.start:a.end]


# -- separators and junk ---------------------------------------------------------------


@pytest.mark.parametrize(
    "separator",
    ["😢", "🙏🙏", "   ", "\t", "\x00", "\x07", "\x1b", "\u200b", "\ud800", "\udfff", "\ufeff",
     "★"],
)
def test_junk_characters_act_as_separators(separator):
    """Emoji, extra spaces, control characters and lone surrogates separate words, never crash."""
    text = f"bị{separator}nhốt{separator}ở{separator}nhà"
    assert words(text) == ["bi", "nhot", "o", "nha"]


def test_junk_only_text_has_no_tokens():
    """A text made only of emoji, spaces, control characters and surrogates has no tokens."""
    assert tokenize("😢🙏 \x00\x01 \ud800\udc00\udfff \u200b") == []


def test_lone_surrogate_inside_a_word_with_lexicon(lexicon):
    """A lone surrogate between two words with the real lexicon splits them without crashing."""
    assert words("ko\ud800dc", lexicon) == ["khong", "duoc"]


# -- teencode --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ko", ["khong"]),
        ("dc", ["duoc"]),
        ("e ko dc ve", ["em", "khong", "duoc", "ve"]),
        ("16t", ["16", "tuoi"]),
        ("em 16t", ["em", "16", "tuoi"]),
        ("20tr", ["20", "trieu"]),
        ("doi 20tr", ["doi", "20", "trieu"]),
        ("sdt", ["so", "dien", "thoai"]),
        ("ntn", ["nhu", "the", "nao"]),
    ],
)
def test_teencode_expansion(text, expected, lexicon):
    """Teencode and abbreviations are rewritten to standard folded words by the real lexicon."""
    assert words(text, lexicon) == expected


def test_teencode_number_units_keep_number_tokens(lexicon):
    """"16t" gives a number token worth 16 followed by the word "tuoi"."""
    tokens = tokenize("16t", lexicon)
    assert [(t.kind, t.text) for t in tokens] == [(NUMBER, "16"), (WORD, "tuoi")]
    assert tokens[0].value == 16


def test_expanded_tokens_keep_the_span_of_their_source(lexicon):
    """Words a teencode token expands into point at that token in the original text."""
    text = "e ko biet"
    tokens = tokenize(text, lexicon)
    khong = next(t for t in tokens if t.text == "khong")
    assert text[khong.start:khong.end] == "ko"


# -- repeated letters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cuuuu", "cuu"),
        ("cuuuuuu", "cuu"),
        ("nhott", "nhot"),
        ("nhốttt", "nhot"),
        ("emmm", "em"),
        ("diiii", "di"),
    ],
)
def test_typed_repeats_are_collapsed(text, expected):
    """Letters repeated for emphasis are collapsed to the spelling ("cuuuu" → "cuu")."""
    assert words(text) == [expected]


@pytest.mark.parametrize("text", ["kk", "tt", "hh"])
def test_vowelless_abbreviations_are_untouched(text):
    """Abbreviations without a vowel ("kk", "tt") keep their doubled letters."""
    assert words(text) == [text]


def test_kk_is_not_rewritten_by_the_lexicon(lexicon):
    """"kk" is not collapsed to "k" (which the lexicon would read as a negation)."""
    assert "khong" not in words("kk", lexicon)
    assert words("kk park", lexicon)[0] == "kk"


# -- number words ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("mười lăm tuổi", 15),
        ("muoi lam tuoi", 15),
        ("mười bốn tuổi", 14),
        ("hai mươi mốt tuổi", 21),
        ("hai mươi tư tuổi", 24),
        ("MƯỜI SÁU TUỔI", 16),
    ],
)
def test_number_words_before_an_age_unit(text, value, lexicon):
    """Number words before "tuổi" become one number token with their value, then "tuoi"."""
    tokens = tokenize(text, lexicon)
    assert [t.kind for t in tokens] == [NUMBER, WORD]
    assert tokens[0].value == value
    assert tokens[0].text == str(value)
    assert tokens[1].text == "tuoi"
    assert tokens[0].start == 0 and tokens[0].end <= tokens[1].start


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ba em", ["ba", "em"]),
        ("ba em đi làm", ["ba", "em", "di", "lam"]),
        ("năm nay", ["nam", "nay"]),
        ("bay vào", ["bay", "vao"]),
    ],
)
def test_lone_number_words_stay_words(text, expected, lexicon):
    """A single number word that counts nothing ("ba em" = my father) stays a word."""
    tokens = tokenize(text, lexicon)
    assert [t.text for t in tokens] == expected
    assert all(t.kind == WORD for t in tokens)


# -- folding word by word gives what folding every character gives --------------------


# Vietnamese letters in both forms, digits, joiners, boundaries, combining marks, "²",
# a lone surrogate, emoji, other scripts, and several kinds of space.
_TRICKY = "aăâbcdđeêghiklmnoôơpqrstuưvxyAĐÊƠ0123456789 .,!?;:/\n\t-_=)(^" \
          "áàảãạếềểễệốồổỗộớờởỡợứừửữựýỳỷỹỵ\u0301\u0300\u0309\u0303\u0323" \
          "²½Ⅻ①漢字١٢ß\u00aa\u00a0\u3000\u200d\ud800😀  "


@given(st.text(alphabet=_TRICKY, max_size=80))
def test_fold_by_words_equals_folding_each_character(text):
    """fold() folds non-ASCII text word by word through a memo; it must equal folding
    every character (str.translate with the fold table)."""
    assert fold(text) == text.translate(normalize._TABLE)


@given(st.text(max_size=60))
def test_fold_of_any_text_equals_folding_each_character(text):
    assert fold(text) == text.translate(normalize._TABLE)


def test_fold_memo_stays_bounded():
    """Odd input cannot grow the memo without end: long words are not kept, and it
    starts afresh at its limit."""
    memo = normalize._Memo(str.upper, limit=3)
    assert [memo[w] for w in "abcd"] == ["A", "B", "C", "D"]
    assert len(memo) == 1  # cleared at the limit, then "d" kept
    assert memo["x" * 100] == "X" * 100
    assert len(memo) == 1
