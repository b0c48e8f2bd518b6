"""File-supplied text reaches the terminal escaped and cut (issue 14): a newline in a
tensor name cannot split an error line, an escape sequence in general.name is printed as
visible text, and a 100 KB model id gives a short line. Through the real CLI on real
GGUF files (gguf package) and safetensors headers."""

from __future__ import annotations

import pytest

from rigcheck.cli import main
from rigcheck.errors import InputError, UnknownNameError
from rigcheck.text import SHOWN_CHARS, escape, shown
from test_limits import BASE, write_gguf, write_safetensors


@pytest.mark.parametrize("raw,visible", [
    ("a\nb", "a\\nb"), ("a\rb", "a\\rb"), ("a\tb", "a\\tb"), ("\x1b[31mred", "\\x1b[31mred"),
    ("\x00", "\\x00"), ("\x7f", "\\x7f"), ("\x9b2J", "\\x9b2J"), ("a\u202eb", "a\\u202eb"), ("\u200b", "\\u200b"),
    ("a\u2028b", "a\\u2028b"),
])
def test_control_and_invisible_characters_become_visible(raw, visible):
    assert escape(raw) == visible
    assert shown(raw) == visible


@pytest.mark.parametrize("text", ["Qwen3-30B-A3B", "é ñ 中文 ü", "blk.0.attn_q.weight", "path with spaces/x.gguf"])
def test_ordinary_text_is_unchanged(text):
    assert shown(text) == text


def test_long_text_is_cut_in_the_middle_saying_how_much():
    s = shown("a" * 50_000 + "\n" + "z" * 50_000)
    assert len(s) < SHOWN_CHARS + 60 and s.startswith("aaa") and s.endswith("zzz")
    assert "100,001" not in s and "characters left out" in s and "\n" not in s


def test_every_rigcheck_error_is_one_visible_line():
    e = InputError("bad value 'x\ny\x1b[2J'")
    assert str(e) == "bad value 'x\\ny\\x1b[2J'"
    u = UnknownNameError("model", "q" * 100_000 + "\n", ["qwen3-8b"])
    assert "\n" not in str(u) and len(str(u)) < 400


def test_a_newline_in_a_tensor_name_does_not_split_the_error_line(tmp_path, capsys):
    # two tensors named alike with a newline and an escape sequence inside: the gguf
    # writer refuses equal names, so the second is renamed in the bytes afterwards
    name = "blk.0.attn_q.weight\nrigcheck: \x1b[1mall fine"
    p = write_gguf(tmp_path / "n.gguf", BASE,
                   tensors=[("token_embd.weight", (300, 64)), (name, (64, 64)), (name.replace("attn", "ATTN"), (64, 64))],
                   patch={b"blk.0.ATTN_q": b"blk.0.attn_q"})
    assert main(["info", p]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err, err
    assert "attn_q.weight\\nrigcheck: \\x1b[1mall fine" in err, err


def test_escape_sequences_in_general_name_are_printed_visibly(tmp_path, capsys):
    p = write_gguf(tmp_path / "e.gguf", dict(BASE, **{"attention.head_count_kv": 4}),
                   tensors=[("token_embd.weight", (300, 64))], name="nice\x1b]0;pwned\x07\x1b[2Jmodel\nline2")
    for argv in (["info", p], ["size", p]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out, out
        assert "nice\\x1b]0;pwned\\x07\\x1b[2Jmodel\\nline2" in out.splitlines()[0], out


def test_a_100_kb_model_id_gives_a_short_line(capsys):
    assert main(["info", "m" * 100_000]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and len(err) < 400, len(err)


def test_a_control_character_in_a_model_id_is_escaped(capsys):
    assert main(["info", "qwen3\x1b[31m-8b\n"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\\x1b[31m" in err and "\x1b" not in err, err


def test_a_safetensors_name_with_a_newline_in_an_error(tmp_path, capsys):
    raw = b'{"a\\nrigcheck: ok\\u001b[2J": {"dtype": "F16", "shape": "2", "data_offsets": [0, 4]}}'
    p = write_safetensors(tmp_path / "w.safetensors", raw, b"\0" * 4)
    assert main(["info", p]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a\\nrigcheck: ok\\x1b[2J" in err and "\x1b" not in err, err


def test_a_path_with_a_newline(tmp_path, capsys):
    d = tmp_path / "odd\nname"
    d.mkdir()
    p = d / "model.gguf"
    p.write_bytes(b"NOPE" + b"\0" * 64)
    assert main(["info", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "odd\\nname" in err, err


def test_a_100_kb_argument_gives_a_short_usage_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["memory", "llama-3.1-8b-instruct", "--ctx", "9" * 100_000 + "\x1b[2J"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and len(err) < 700 and "\x1b" not in err, len(err)
