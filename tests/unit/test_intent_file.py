"""te-intent's intent files: the YAML dialect (duplicate keys, YAML 1.2 booleans), the sources
(a file, ``-`` for standard input, a directory, several ``---`` documents) and the input that must be
a one-line usage error rather than a crash."""
import io
import sys

import pytest

from controller.client.errors import UsageError
from controller.client.intent_file import load_documents, read_apply_file, read_intent_file

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


@pytest.mark.parametrize("field", ["class", "group", "burst_bytes", "dscp"])
def test_an_alias_bomb_in_a_class_field_gives_a_short_message(tmp_path, field):
    path = write(tmp_path, f"- {{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, {field}: {alias_bomb()}}}\n")
    text = refusal(path)
    assert f"intent #1 (a): {field} must be " in text and len(text) < 500, text[:1000]


def test_an_alias_bomb_in_a_group_gives_a_short_message(tmp_path):
    path = write(tmp_path, f"groups: [{{name: v, rate_cap_bps: {alias_bomb()}}}]\n")
    text = refusal(path)
    assert "group #1 (v): rate_cap_bps must be a number or a rate like 5M, not the list" in text and len(text) < 500


@pytest.mark.parametrize("field, value", [("src", "[1, 2]"), ("name", "{a: 1}"), ("rate_bps", "[4M]"),
                                          ("match", "[tcp]"), ("priority", "!!set {1}"), ("class", "[guaranteed]"),
                                          ("dscp", "{EF: 1}"), ("burst_bytes", "[64K]")])
def test_a_collection_where_a_value_belongs_is_refused(tmp_path, field, value):
    body = {"name": "a", "src": "10.0.0.1", "dst": "10.0.0.2", "rate_bps": "1M", field: value}
    path = write(tmp_path, "- {" + ", ".join(f"{k}: {v}" for k, v in body.items()) + "}\n")
    assert f"intent #1{' (a)' if field != 'name' else ''}: {field} must be " in refusal(path)


# --- service classes and groups ---------------------------------------------------------------------

@pytest.mark.parametrize("burst, size", [("1514", 1514), ("64K", 64000), ("64k", 64000), ("64KB", 64000),
                                         ("64KiB", 65536), ("1.5M", 1500000), ("2MiB", 2097152), ("'3000'", 3000),
                                         ("1e4", 10000), ("9000 bytes", 9000)])
def test_burst_bytes_may_be_a_size(tmp_path, burst, size):
    path = write(tmp_path, f"- {{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, burst_bytes: {burst}}}\n")
    assert read_intent_file(path)[0].burst_bytes == size


@pytest.mark.parametrize("dscp, value", [("EF", 46), ("ef", 46), ("AF11", 10), ("af43", 38), ("CS0", 0), ("cs7", 56),
                                         ("34", 34), ("'18'", 18), ("0", 0)])
def test_dscp_may_be_a_number_or_a_name(tmp_path, dscp, value):
    path = write(tmp_path, f"- {{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, dscp: {dscp}}}\n")
    assert read_intent_file(path)[0].dscp == value


def test_class_and_group_are_read_as_the_controller_reads_them(tmp_path):
    path = write(tmp_path, "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, class: guaranteed, group: video}\n"
                           "- {name: b, src: 10.0.0.3, dst: 10.0.0.2, rate_bps: 1M}\n")
    assert [(i.service_class, i.group, i.burst_bytes, i.dscp) for i in read_intent_file(path)] == [
        ("guaranteed", "video", None, None), ("best-effort", None, None, None)]


@pytest.mark.parametrize("field, value, message", [
    ("class", "Guaranteed", "class must be best-effort or guaranteed, not 'Guaranteed'"),
    ("class", "null", "class must be best-effort or guaranteed, not None"),
    ("group", "'a b'", "group must be a group name (1-64 letters, digits, '.', '_' or '-'), not 'a b'"),
    ("group", "12", "group must be a group name (1-64 letters, digits, '.', '_' or '-'), not 12"),
    ("burst_bytes", "1513", "burst_bytes must be an integer from 1514 to 536870911875, not 1513"),
    ("burst_bytes", "64kbit", "burst_bytes: not a size in bytes: '64kbit'"),
    ("burst_bytes", "1.5", "burst_bytes must be an integer from 1514"),
    ("burst_bytes", "true", "burst_bytes must be an integer from 1514"),
    ("dscp", "64", "dscp must be an integer from 0 to 63, not 64"),
    ("dscp", "EF1", "dscp: not a DSCP value: 'EF1' (0-63, EF, AF11-AF43 or CS0-CS7)"),
    ("dscp", "true", "dscp must be an integer from 0 to 63, not True"),
])
def test_bad_class_fields_are_refused_as_the_controller_refuses_them(tmp_path, field, value, message):
    path = write(tmp_path, f"- {{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, {field}: {value}}}\n")
    assert refusal(path).startswith(f"{path}: intent #1 (a): {message}")


def test_groups_next_to_intents(tmp_path):
    path = write(tmp_path, "owner: ops\ngroups:\n  - {name: video, weight: 3, rate_cap_bps: 50M, version: 2}\n"
                           "  - {name: bulk, guaranteed_bps: 1.5G}\n"
                           f"intents: [{A}]\n")
    found = read_apply_file(path)
    assert [(g.name, g.weight, g.rate_cap_bps, g.guaranteed_bps) for g in found.groups] == [
        ("video", 3.0, 5e7, None), ("bulk", 1.0, None, 1.5e9)]
    assert found.group_versions == (2, None) and [i.name for i in found.intents] == ["a"] and found.owner == "ops"


def test_a_document_of_groups_only(tmp_path):
    found = read_apply_file(write(tmp_path, "groups: [{name: video}]\n---\n" + f"[{A}]\n"))
    assert [g.name for g in found.groups] == ["video"] and [i.name for i in found.intents] == ["a"]


def test_group_names_are_unique_across_files(tmp_path):
    first = write(tmp_path, "groups: [{name: video}]\n", "1.yaml")
    second = write(tmp_path, "groups: [{name: bulk}, {name: video, weight: 2}]\n", "2.yaml")
    assert refusal(str(tmp_path)) == f"{second}: group #2 (video): name 'video' is already used by group #1 of {first}"


def test_a_group_and_an_intent_may_share_a_name(tmp_path):
    found = read_apply_file(write(tmp_path, f"groups: [{{name: a}}]\nintents: [{A}]\n"))
    assert [g.name for g in found.groups] == ["a"] and [i.name for i in found.intents] == ["a"]


@pytest.mark.parametrize("text, message", [
    ("groups: [{name: video, weight: -1}]", "group #1 (video): weight must be > 0 and at most 1000, not -1.0"),
    ("groups: [{name: video, rate_cap_bps: fast}]", "group #1 (video): rate_cap_bps: not a rate: 'fast'"),
    ("groups: [{name: video, rate_cap_bps: 1M, guaranteed_bps: 2M}]",
     "group #1 (video): rate_cap_bps 1e+06 is below the group's guaranteed_bps 2e+06"),
    ("groups: [{name: video, guaranteed_bps: 0.5}]", "group #1 (video): guaranteed_bps must be at least"),
    ("groups: [{name: video, version: two}]", "group #1 (video): version must be the version (an integer, at least 1)"),
    ("groups: [{name: video, 1: x}]", "group #1 (video): field names must be strings, not 1"),
    ("groups: [video]", "group #1: the request body must be a JSON object"),
    ("groups: video", "groups must be a list of groups ({name, weight, rate_cap_bps, guaranteed_bps}), not the str"),
    ("groups: []\nextra: 1", "expected a list of intents or {intents: [...], groups: [...], owner: NAME}, not dict"),
])
def test_bad_groups_are_one_line_usage_errors(tmp_path, text, message):
    path = write(tmp_path, text + "\n")
    assert refusal(path).startswith(f"{path}: {message}")
