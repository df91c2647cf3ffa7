"""The files that pass between stages are read through their declared layouts: an undeclared key read is a bug
found here, a file of an older layout is refused in one line."""

import json

import pytest

from tinynets.common import contracts
from tinynets.common.errors import DataError

INFO = {key: None for key in contracts.FEATURE_INFO.required} | {"classes": ["a", "b"]}


def test_a_read_of_a_key_the_layout_does_not_declare_fails(tmp_path):
    path = tmp_path / "info.json"
    contracts.write(contracts.FEATURE_INFO, path, INFO)
    info = contracts.read(contracts.FEATURE_INFO, path)
    assert info["classes"] == ["a", "b"] and info.get("forecast") is None and "valid_rows" not in info
    for read in (lambda: info["clases"], lambda: info.get("made_up"), lambda: "made_up" in info):
        with pytest.raises(contracts.UndeclaredKey, match="is not a key of featurize's description"):
            try:
                read()
            except KeyError:  # a reader's own `except KeyError` must not swallow it
                pytest.fail("an undeclared key read as a missing one")


@pytest.mark.parametrize("text", ["", '{"source": ', "[1, 2]"])
def test_a_truncated_or_foreign_file_is_refused_in_one_line(tmp_path, text):
    path = tmp_path / "info.json"
    path.write_text(text)
    with pytest.raises(DataError, match="of another layout \\(not a JSON object\\)"):
        contracts.read(contracts.FEATURE_INFO, path)


@pytest.mark.parametrize(
    ("dropped", "added", "found"), [("source", {}, "no 'source'"), (None, {"extra": 1}, "an unknown 'extra'")]
)
def test_a_file_of_another_layout_is_refused_in_one_line(tmp_path, dropped, added, found):
    path = tmp_path / "info.json"
    written = {key: value for key, value in INFO.items() if key != dropped} | added
    path.write_text(json.dumps(written))
    with pytest.raises(DataError, match=f"of another layout \\({found}\\): run `dvc repro`") as refused:
        contracts.read(contracts.FEATURE_INFO, path)
    assert "\n" not in str(refused.value)
    with pytest.raises(RuntimeError, match=f"written with {found}"):  # and tinynets never writes one
        contracts.write(contracts.FEATURE_INFO, tmp_path / "new.json", written)
    assert not (tmp_path / "new.json").exists()
