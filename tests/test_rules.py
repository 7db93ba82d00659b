"""Rule data validation: bad data fails loudly, versions track the files, no collisions."""

from __future__ import annotations

import shutil
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

import triage
from triage import RuleError

RULES_DIR = Path(triage.__file__).resolve().parent / "rules"


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A fresh copy of the package's rule directory."""
    target = tmp_path / "rules"
    shutil.copytree(RULES_DIR, target)
    return target


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n" + text.strip() + "\n")


def first_indicator_id(rules_dir: Path) -> str:
    doc = tomllib.loads((rules_dir / "indicators.toml").read_text(encoding="utf-8"))
    return doc["indicator"][0]["id"]


def test_package_rules_load():
    """The package's own rule data loads."""
    rules = triage.load_rules()
    assert rules.version
    assert rules.indicators and rules.combos and rules.phrases


def test_copy_of_the_rules_loads(rules_copy):
    """An unmodified copy of the rules loads with the same version as the package's files."""
    assert triage.load_rules(rules_copy).version == triage.load_rules(RULES_DIR).version


# -- one deliberate error per case -----------------------------------------------------


def test_bad_toml(rules_copy):
    """A file that is not valid TOML is reported with the file's name."""
    append(rules_copy / "indicators.toml", '[[indicator]\nid = "broken"')
    with pytest.raises(RuleError) as info:
        triage.load_rules(rules_copy)
    assert "indicators.toml" in str(info.value)


BAD_ENTRIES = [
    # (file, entry appended, words the error must name)
    ("indicators.toml", """
[[indicator]]
id = "test_bad_level"
level = "urgent"
weight = 10
categories = ["trafficking"]
phrases = ["cụm từ thử nghiệm"]
""", ["test_bad_level", "level"]),
    ("indicators.toml", """
[[indicator]]
id = "test_bad_category"
level = "medium"
weight = 10
categories = ["no_such_category"]
phrases = ["cụm từ thử nghiệm"]
""", ["test_bad_category", "no_such_category"]),
    ("indicators.toml", """
[[indicator]]
id = "test_no_phrases"
level = "medium"
weight = 10
categories = ["trafficking"]
""", ["test_no_phrases", "phrases"]),
    ("indicators.toml", """
[[indicator]]
id = "test_weight"
level = "medium"
weight = 1000
categories = ["trafficking"]
phrases = ["cụm từ thử nghiệm"]
""", ["test_weight", "weight"]),
    ("combos.toml", """
[[combo]]
id = "test_bad_combo"
all = ["child", "no_such_fact"]
level = "high"
weight = 10
""", ["test_bad_combo", "no_such_fact"]),
    ("places.toml", """
[[border_gate]]
code = "test_gate"
name = "Cửa Khẩu Thử Nghiệm"
aliases = []
province = "atlantis"
country = "CN"
ambiguous = false
""", ["test_gate", "atlantis"]),
]


@pytest.mark.parametrize(("file", "entry", "named"), BAD_ENTRIES,
                         ids=[words[0] for _, _, words in BAD_ENTRIES])
def test_a_bad_entry_is_named_in_the_error(rules_copy, file, entry, named):
    """A bad entry stops the load with a RuleError naming the file, the entry and the fault."""
    append(rules_copy / file, entry)
    with pytest.raises(RuleError) as info:
        triage.load_rules(rules_copy)
    message = str(info.value)
    assert file in message, message
    for word in named:
        assert word in message, message


def test_duplicate_indicator_id(rules_copy):
    """Two indicators with the same id are reported with the file and the id."""
    duplicate = first_indicator_id(rules_copy)
    append(rules_copy / "indicators.toml", f'''
[[indicator]]
id = "{duplicate}"
level = "medium"
weight = 10
categories = ["trafficking"]
phrases = ["cụm từ thử nghiệm"]
''')
    with pytest.raises(RuleError) as info:
        triage.load_rules(rules_copy)
    message = str(info.value)
    assert "indicators.toml" in message and duplicate in message, message
    assert "duplicate" in message.lower(), message


def remove_last_province(places: Path) -> None:
    lines = places.read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() == "[[province]]"]
    start = starts[-1]
    end = next(i for i in range(start + 1, len(lines))
               if lines[i].startswith("[[") or lines[i].startswith("["))
    places.write_text("".join(lines[:start] + lines[end:]), encoding="utf-8")


def test_places_with_33_provinces(rules_copy):
    """places.toml with 33 provincial units instead of 34 is reported."""
    places = rules_copy / "places.toml"
    remove_last_province(places)
    doc = tomllib.loads(places.read_text(encoding="utf-8"))
    assert len(doc["province"]) == 33
    with pytest.raises(RuleError) as info:
        triage.load_rules(rules_copy)
    message = str(info.value)
    assert "places.toml" in message and "33" in message, message


# -- rules_version ---------------------------------------------------------------------


def test_rules_version_is_stable(rules_copy, tmp_path):
    """Loading the same files twice, from anywhere, gives the same rules_version."""
    other = tmp_path / "elsewhere"
    shutil.copytree(rules_copy, other)
    first = triage.load_rules(rules_copy).version
    assert triage.load_rules(rules_copy).version == first
    assert triage.load_rules(other).version == first


@pytest.mark.parametrize("name", ["indicators", "context", "combos", "children", "places",
                                  "teencode", "numbers", "categories"])
def test_rules_version_changes_with_any_rule_file(rules_copy, name):
    """Changing any rule file (even a comment) changes rules_version."""
    before = triage.load_rules(rules_copy).version
    append(rules_copy / f"{name}.toml", "# a change")
    assert triage.load_rules(rules_copy).version != before


# -- collisions ------------------------------------------------------------------------


def _place_owner(place) -> tuple[str, str]:
    """What a gazetteer name points at: the province, the country or the gate it names."""
    if place.kind == "country":
        return ("country", place.code)
    if place.kind == "gate":
        return ("gate", place.code)
    if place.kind == "sea":
        return ("province", place.province) if place.province else ("sea", place.code)
    if place.kind == "region":
        return ("region", "")
    return ("province", place.code)


def _place_guarded(hit) -> bool:
    """True when a name counts only with a cue (ambiguous, or a gate that needs 'cửa khẩu')."""
    return hit.ambiguous or getattr(hit.entry, "needs_gate_cue", False)


def _describe(hit) -> str:
    place = hit.entry
    owner = "/".join(x for x in _place_owner(place) if x)
    flags = []
    if hit.ambiguous:
        flags.append("ambiguous")
    if getattr(place, "needs_gate_cue", False):
        flags.append("needs_gate_cue")
    return f"{owner} [{', '.join(flags) or 'NOT MARKED'}]"


def gazetteer_collisions(rules) -> list[str]:
    by_key = defaultdict(list)
    for key, hit in rules.phrases:
        if hit.kind == "place":
            by_key[key].append(hit)
    problems = []
    for key, hits in sorted(by_key.items()):
        owners = {}
        for hit in hits:
            owners.setdefault(_place_owner(hit.entry), []).append(hit)
        if len(owners) < 2:
            continue
        bad = []
        items = list(owners.items())
        for i, (_owner_a, hits_a) in enumerate(items):
            for _owner_b, hits_b in items[i + 1:]:
                for a in hits_a:
                    for b in hits_b:
                        if _same_place(a.entry, b.entry):
                            continue  # a gate and the town or province it lies in
                        if not (_place_guarded(a) and _place_guarded(b)):
                            bad.append((a, b))
        if bad:
            involved = sorted({_describe(h) for pair in bad for h in pair})
            problems.append(f"{' '.join(key)!r}: " + "; ".join(involved))
    return problems


def _same_place(a, b) -> bool:
    """A gate and a place of its own province with the same name are the same location."""
    for gate, other in ((a, b), (b, a)):
        if gate.kind == "gate" and other.kind in ("province", "sea"):
            if _place_owner(other) == ("province", gate.province):
                return True
    return False


def test_no_unmarked_gazetteer_collisions():
    """Two names of different places with the same folded key are both marked ambiguous."""
    problems = gazetteer_collisions(triage.load_rules())
    if problems:
        print("\nGazetteer collisions (same folded key, different places, not both ambiguous):")
        for line in problems:
            print("  " + line)
    assert problems == [], "\n".join(problems)


def test_gazetteer_collision_check_finds_an_unmarked_collision(rules_copy):
    """The collision check itself flags a country name that folds like a province name."""
    append(rules_copy / "places.toml", '''
[[country]]
code = "ZZ"
names = ["Hà Nội"]
ambiguous = []
cities = []
cities_ambiguous = []
''')
    problems = gazetteer_collisions(triage.load_rules(rules_copy))
    assert any(line.startswith("'ha noi'") for line in problems), problems


def indicator_collisions(rules) -> list[str]:
    by_key = defaultdict(lambda: defaultdict(list))
    for key, hit in rules.phrases:
        if hit.kind == "indicator":
            by_key[key][hit.entry.id].append(hit.ambiguous)
    problems = []
    for key, ids in sorted(by_key.items()):
        if len(ids) < 2:
            continue
        if all(all(flags) for flags in ids.values()):
            continue
        parts = [f"{ident} [{'ambiguous' if all(flags) else 'phrases'}]"
                 for ident, flags in sorted(ids.items())]
        problems.append(f"{' '.join(key)!r}: " + ", ".join(parts))
    return problems


def test_no_indicator_phrase_in_two_indicators():
    """A phrase key belongs to one indicator id, unless it is marked ambiguous in both."""
    problems = indicator_collisions(triage.load_rules())
    if problems:
        print("\nIndicator phrase keys shared by several indicators (not ambiguous in all):")
        for line in problems:
            print("  " + line)
    assert problems == [], "\n".join(problems)


def test_indicator_collision_check_finds_a_shared_phrase(rules_copy):
    """The collision check itself flags a phrase given to two indicators."""
    doc = tomllib.loads((rules_copy / "indicators.toml").read_text(encoding="utf-8"))
    taken = next(ind["phrases"][0] for ind in doc["indicator"] if ind.get("phrases"))
    append(rules_copy / "indicators.toml", f'''
[[indicator]]
id = "test_shared_phrase"
level = "medium"
weight = 10
categories = ["trafficking"]
phrases = ["{taken}"]
''')
    problems = indicator_collisions(triage.load_rules(rules_copy))
    assert any("test_shared_phrase" in line for line in problems), problems


# Folded words with more than one everyday meaning (bán/bạn, lừa/lúa/lửa, nhốt/nhọt,
# Lào/lao động, Thái/thai, ...). A rule phrase that is only one of these words must be
# marked ambiguous, so that it counts only with a cue or inside a longer phrase.
HOMOGRAPHS = {
    "ban", "lua", "nhot", "lao", "thai", "tau", "han", "nhat", "cam", "mien", "duc", "my",
    "phap", "nga", "anh", "danh", "dap", "cuu", "be", "troi", "dua", "toi", "cho", "xuong",
    "co", "la", "buon", "hong", "nho", "cha", "tu", "dat", "om", "ghe", "che", "chui", "ep",
    "giu", "bat", "lay", "nam", "ba", "sau", "bay", "tam", "trung", "dai", "sing", "phi", "uc",
    "vinh", "hue", "chi", "mo", "rang", "te", "no", "sec", "tre", "thu", "phong", "nghi",
}


def test_one_word_phrases_that_fold_to_several_words_are_ambiguous():
    """"ban" alone (bán or bạn) never fires without a cue; nor do the other homographs."""
    rules = triage.load_rules()
    loose = sorted({(phrase[0], hit.kind) for phrase, hit in rules.phrases
                    if len(phrase) == 1 and phrase[0] in HOMOGRAPHS
                    and hit.kind in ("indicator", "place") and not hit.ambiguous})
    assert loose == [], f"one-word homographs not marked ambiguous: {loose}"


@pytest.mark.parametrize("text", ["ban", "lua", "nhot", "lao", "thai"])
def test_a_lone_homograph_judges_nothing(text):
    """The issue's examples, alone, are not read as a sale, a fraud, confinement or a country."""
    result = triage.assess(text)
    assert result.urgency == "low"
    assert result.countries == ()
    assert result.reasons == ()


def test_variants_are_generated_not_typed():
    """No list holds two phrases that fold to the same key ("cty"/"công ty", "hông"/"hổng"):
    folded and teencode variants come from the loader, not from the data."""
    rules = triage.load_rules()
    seen: dict[tuple[str, object], list[tuple[str, ...]]] = {}
    repeats = []
    for phrase, hit in rules.phrases:
        owner = (hit.kind, getattr(hit.entry, "id", None) or getattr(hit.entry, "code", None)
                 or hit.entry)
        keys = seen.setdefault(owner, [])
        if phrase in keys and hit.kind not in ("place",):
            repeats.append((owner, " ".join(phrase)))
        keys.append(phrase)
    assert repeats == [], repeats
