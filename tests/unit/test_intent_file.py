"""te-intent's intent files: the YAML dialect (duplicate keys, YAML 1.2 booleans), the sources
(a file, ``-`` for standard input, a directory, several ``---`` documents) and the input that must be
a one-line usage error rather than a crash."""
import io
import sys

import pytest

from controller.client.errors import UsageError
from controller.client.intent_file import load_documents, read_intent_file

A = "{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M}"
B = "{name: b, src: 10.0.0.3, dst: 10.0.0.4, rate_bps: 2M}"


def write(tmp_path, text, name="intents.yaml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def refusal(path) -> str:
    with pytest.raises(UsageError) as info:
        read_intent_file(path)
    return str(info.value)


# --- the YAML dialect ------------------------------------------------------------------------------

def test_a_duplicate_key_is_refused_with_its_lines(tmp_path):
    path = write(tmp_path, "- name: a\n  src: 10.0.0.1\n  dst: 10.0.0.2\n  rate_bps: 1M\n  name: b\n")
    assert refusal(path) == f"{path}: duplicate key 'name' on lines 1 and 5 (a key may appear once per mapping)"


def test_a_duplicate_key_in_a_flow_mapping_names_its_line(tmp_path):
    path = write(tmp_path, "# intents\n- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, rate_bps: 2M}\n")
    assert refusal(path) == f"{path}: duplicate key 'rate_bps' on line 2 (a key may appear once per mapping)"


def test_a_duplicate_intents_key_at_the_top_is_refused(tmp_path):
    path = write(tmp_path, f"intents: [{A}]\nintents: [{B}]\n")
    assert "duplicate key 'intents' on lines 1 and 2" in refusal(path)


def test_merge_keys_may_be_overridden_without_a_duplicate(tmp_path):
    text = ("defaults: &d {src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M}\n"
            "intents:\n  - {<<: *d, name: a, rate_bps: 3M}\n")
    assert load_documents(text, "x") == [{"defaults": {"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "1M"},
                                          "intents": [{"src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "3M",
                                                       "name": "a"}]}]


@pytest.mark.parametrize("word", ["no", "No", "NO", "yes", "on", "off", "y", "n", "Off"])
def test_yaml_1_1_booleans_are_strings(tmp_path, word):
    path = write(tmp_path, f"- {{name: {word}, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M}}\n")
    assert [i.name for i in read_intent_file(path)] == [word]


def test_true_and_false_are_still_booleans():
    assert load_documents("[true, false, True, FALSE, yes, no]", "x") == [[True, False, True, False, "yes", "no"]]


@pytest.mark.parametrize("value, shown", [("true", "the bool True"), ("012", "the int 10"), ("1.5", "the float 1.5")])
def test_a_name_that_yaml_reads_as_no_string_says_to_quote_it(tmp_path, value, shown):
    path = write(tmp_path, f"- {{name: {value}, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M}}\n")
    assert refusal(path) == f'{path}: intent #1: name must be a string, not {shown} (quote it: name: "...")'


@pytest.mark.parametrize("proto, number", [("tcp", 6), ("udp", 17), ("icmp", 1), ("TCP", 6), (6, 6), ("'17'", 17)])
def test_ip_proto_may_be_a_name_or_a_number(tmp_path, proto, number):
    path = write(tmp_path, f"- {{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, match: {{ip_proto: {proto}}}}}\n")
    assert read_intent_file(path)[0].match.ip_proto == number


def test_an_unknown_protocol_name_is_refused(tmp_path):
    path = write(tmp_path, "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, match: {ip_proto: sctp}}\n")
    assert refusal(path) == f"{path}: intent #1 (a): match.ip_proto: not a protocol: 'sctp' (tcp, udp, icmp or a number)"


def test_ports_need_tcp_or_udp_by_name_too(tmp_path):
    path = write(tmp_path, "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, match: {ip_proto: udp, tp_dst: 53}}\n"
                           "- {name: b, src: 10.0.0.1, dst: 10.0.0.3, rate_bps: 1M, match: {ip_proto: icmp, tp_dst: 53}}\n")
    assert "intent #2 (b): match.tp_dst needs match.ip_proto 6 (TCP) or 17 (UDP)" in refusal(path)


# --- sources: -, a directory, several documents ---------------------------------------------------------

def stdin(monkeypatch, data: bytes):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_dash_reads_standard_input(monkeypatch):
    stdin(monkeypatch, f"[{A}, {B}]".encode())
    assert [i.name for i in read_intent_file("-")] == ["a", "b"]


def test_errors_in_standard_input_are_named_stdin(monkeypatch):
    stdin(monkeypatch, b"- {name: a, src: 10.0.0.1, dst: 10.0.0.1, rate_bps: 1M}")
    with pytest.raises(UsageError, match=r"^<stdin>: intent #1 \(a\): src and dst are the same host 10.0.0.1$"):
        read_intent_file("-")


def test_closed_standard_input_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(UsageError, match="^cannot read standard input: it is closed$"):
        read_intent_file("-")


def test_a_directory_means_its_yaml_and_json_files_in_name_order(tmp_path):
    write(tmp_path, f"[{B}]", "2-b.yml")
    write(tmp_path, f"[{A}]", "1-a.yaml")
    write(tmp_path, '[{"name": "c", "src": "10.0.0.5", "dst": "10.0.0.6", "rate_bps": 3e6}]', "3-c.JSON")
    write(tmp_path, "not: [an intent file", "notes.txt")
    (tmp_path / "sub.yaml").mkdir()
    assert [i.name for i in read_intent_file(str(tmp_path) + "/")] == ["a", "b", "c"]


def test_errors_in_a_directory_name_the_file(tmp_path):
    write(tmp_path, f"[{A}]", "1.yaml")
    bad = write(tmp_path, "- {name: x, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: fast}", "2.yaml")
    assert refusal(str(tmp_path)) == f"{bad}: intent #1 (x): rate_bps: not a rate: 'fast' (examples: 4M, 4Mbit, 1.5G, 4000000)"


def test_names_are_unique_across_the_files_of_a_directory(tmp_path):
    first = write(tmp_path, f"[{A}]", "1.yaml")
    second = write(tmp_path, f"[{B}, {A}]", "2.yaml")
    assert refusal(str(tmp_path)) == f"{second}: intent #2 (a): name 'a' is already used by intent #1 of {first}"


def test_a_directory_without_intent_files_is_refused(tmp_path):
    write(tmp_path, "x", "README")
    assert refusal(str(tmp_path)) == f"{tmp_path}: no *.yaml, *.yml or *.json file in this directory"


def test_several_documents_add_up(tmp_path):
    path = write(tmp_path, f"# one\n- {A}\n---\nintents:\n  - {B}\n---\n")
    assert [i.name for i in read_intent_file(path)] == ["a", "b"]


def test_errors_in_a_later_document_name_it(tmp_path):
    path = write(tmp_path, f"- {A}\n---\n- {B}\n- {A}\n")
    assert refusal(path) == f"{path} (document 2): intent #2 (a): name 'a' is already used by intent #1 of {path} (document 1)"


def test_a_single_document_keeps_the_plain_file_name(tmp_path):
    path = write(tmp_path, "---\n- {name: a, src: 10.0.0.1, dst: 10.0.0.2}\n")
    assert refusal(path) == f"{path}: intent #1 (a): missing field rate_bps"


# --- input that used to crash ------------------------------------------------------------------------

def test_a_file_that_is_not_utf8_is_refused_with_the_byte_and_line(tmp_path):
    path = write(tmp_path, b"intents:\n  - {name: w\xff, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M}\n")
    assert refusal(path) == f"{path} is not UTF-8 text (byte 0xff on line 2); save it as UTF-8"


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    assert [i.name for i in read_intent_file(write(tmp_path, b"\xef\xbb\xbf[" + A.encode() + b"]"))] == ["a"]


@pytest.mark.parametrize("text, message", [
    ("[" * 5000 + "]" * 5000, "is nested too deeply to be an intent file"),
    ("- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1" + "0" * 400 + "}", ": line 1: the integer 1000"),
    ("- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, priority: " + "9" * 5000 + "}",
     ": line 1: the integer 9999"),
    ("- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1e400}", "rate_bps: not a rate: '1e400' (too large)"),
    ("- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, 1: x, 2.5: y, null: z}",
     "intent #1 (a): field names must be strings, not 1"),
    ("- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, match: {1: x, 2.5: y}}",
     "intent #1 (a): match: field names must be strings, not 1"),
    ("- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: !!binary aGVsbG8=}", "rate_bps must be a finite number"),
    ("- {name: a, src: !!python/object:os.system x, dst: 10.0.0.2, rate_bps: 1M}", "is neither YAML nor JSON"),
    ("- [a, b]\n- \x00", "is neither YAML nor JSON"),
])
def test_hostile_files_are_one_line_usage_errors(tmp_path, text, message):
    path = write(tmp_path, text)
    text = refusal(path)
    assert message in text and "\n" not in text and len(text) < 500


def alias_bomb(levels=7) -> str:
    """A flow sequence of 10**levels x's in a few hundred characters: each level repeats the one before."""
    text = "&a0 [" + ", ".join(["x"] * 10) + "]"
    for n in range(1, levels):
        text = f"&a{n} [{text}, " + ", ".join([f"*a{n - 1}"] * 9) + "]"
    return text


@pytest.mark.parametrize("field", ["rate_bps", "src", "name", "weight", "match"])
def test_an_alias_bomb_in_a_field_gives_a_short_message(tmp_path, field):
    body = {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "1M", field: alias_bomb()}
    path = write(tmp_path, "- {" + ", ".join(f"{k}: {v}" for k, v in body.items()) + "}\n")
    text = refusal(path)
    assert f": {field} must be " in text and len(text) < 500, text[:1000]


@pytest.mark.parametrize("field, value", [("src", "[1, 2]"), ("name", "{a: 1}"), ("rate_bps", "[4M]"),
                                          ("match", "[tcp]"), ("priority", "!!set {1}")])
def test_a_collection_where_a_value_belongs_is_refused(tmp_path, field, value):
    body = {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "1M", field: value}
    path = write(tmp_path, "- {" + ", ".join(f"{k}: {v}" for k, v in body.items()) + "}\n")
    assert f"intent #1{' (a)' if field != 'name' else ''}: {field} must be " in refusal(path)
