"""Hostile portfolio files: a clear error naming the file (exit 2), never a crash, and
anything that opens can be saved."""
import json

import pytest

import cli
from engine import InputError, load_portfolio


def test_deeply_nested_json_is_a_clear_error(tmp_path, capsys):
    f = tmp_path / "deep.json"
    f.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError) as e:
        load_portfolio(f)
    assert "nested too deeply" in str(e.value) and "deep.json" in str(e.value)
    assert cli.main(["liquidation", str(f)]) == 2
    err = capsys.readouterr().err
    assert "nested too deeply" in err and "internal error" not in err


def test_number_with_too_many_digits_is_a_clear_error(tmp_path, capsys):
    f = tmp_path / "big.json"
    f.write_text('{"format": "crashlab.portfolio/1", "prices": {"BTC": ' + "9" * 5000 + '}, '
                 '"positions": []}')
    with pytest.raises(InputError) as e:
        load_portfolio(f)
    assert "digits" in str(e.value) and "big.json" in str(e.value)
    assert cli.main(["liquidation", str(f)]) == 2
    assert "internal error" not in capsys.readouterr().err


def test_a_lone_surrogate_is_refused_with_the_field_named(tmp_path):
    f = tmp_path / "odd.json"
    f.write_text(json.dumps({"format": "crashlab.portfolio/1", "name": "book",
                             "prices": {"BTC": 85000},
                             "positions": [{"id": "x\ud800", "kind": "spot", "asset": "BTC",
                                            "quantity": 1}]}))
    with pytest.raises(InputError) as e:
        load_portfolio(f)
    assert "lone surrogate" in str(e.value) and "positions[0].id" in str(e.value)


def test_the_editor_document_with_a_lone_surrogate_saves(tmp_path):
    from ui.document import Document
    doc = Document({"format": "crashlab.portfolio/1", "name": "n\ud800", "prices": {"BTC": 1.0},
                    "accounts": [], "positions": [{"id": "a\udfff", "kind": "spot", "asset": "BTC",
                                                   "quantity": 1}]})
    text = doc.dumps()
    text.encode("utf-8")                                  # writable
    assert json.loads(text)["positions"][0]["id"] == "a\udfff"
