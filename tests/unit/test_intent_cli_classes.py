"""te-intent and service classes: ``add --class/--group/--burst/--dscp``, intent files with ``groups:``,
``apply`` (groups first), ``get -o yaml`` round trips, ``groups``, ``group add/set/delete``, ``classes``
and the admission refusal (409), against the HTTP double of test_intent_cli (the real dispatcher over a
real IntentRegistry)."""
import json

import pytest
import yaml

import test_intent_cli
from controller.intents import AdmissionRefused
from test_intent_cli import assert_usage_error, run, write

api = test_intent_cli.api  # the fixture: a running double of the API, TE_CONTROLLER pointing at it

ADD = ["add", "--src", "10.0.0.1", "--dst", "10.0.0.5", "--rate", "4M"]
INTENTS = "/te/v1/intents"


def sent(registry, method, path):
    """The bodies sent by ``method`` to ``path``, in order."""
    return [body for m, p, body in registry.bodies if (m, p) == (method, path)]


# --- add -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("options, fields", [
    (["--class", "guaranteed"], {"class": "guaranteed"}),
    (["--class", "best-effort"], {}),  # the default: not sent
    (["--group", "video"], {"group": "video"}),
    (["--burst", "64K"], {"burst_bytes": 64000}),
    (["--burst", "64KiB"], {"burst_bytes": 65536}),
    (["--burst", "1514"], {"burst_bytes": 1514}),
    (["--burst", "1.5MB"], {"burst_bytes": 1500000}),
    (["--dscp", "EF"], {"dscp": 46}),
    (["--dscp", "af41"], {"dscp": 34}),
    (["--dscp", "cs1"], {"dscp": 8}),
    (["--dscp", "0"], {"dscp": 0}),
    (["--dscp", "63"], {"dscp": 63}),
    (["--class", "guaranteed", "--group", "video", "--burst", "3000", "--dscp", "AF11"],
     {"class": "guaranteed", "group": "video", "burst_bytes": 3000, "dscp": 10}),
])
def test_add_sends_the_new_fields(api, capsys, options, fields):
    api.create_group({"name": "video"})
    status, out, err = run(capsys, *ADD, "--name", "web", *options)
    assert (status, err) == (0, ""), err
    assert sent(api, "POST", INTENTS) == [{"name": "web", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6,
                                           "priority": 0, "weight": 1.0, "match": {}} | fields]
    intent = api.get("1")
    assert (intent.service_class, intent.group, intent.burst_bytes, intent.dscp) == (
        fields.get("class", "best-effort"), fields.get("group"), fields.get("burst_bytes"), fields.get("dscp"))


def test_add_prints_the_new_fields(api, capsys):
    api.create_group({"name": "video"})
    status, out, _ = run(capsys, *ADD, "--name", "cam", "--class", "guaranteed", "--group", "video", "--burst", "64K",
                         "--dscp", "AF41")
    assert status == 0 and out == ("created intent 1 (cam): 10.0.0.1 -> 10.0.0.5 4 Mbit/s priority 0 weight 1 match - "
                                   "class guaranteed group video burst 64000 bytes dscp 34 (AF41)\n")


@pytest.mark.parametrize("options, message", [
    (["--class", "gold"], "argument --class: invalid choice: 'gold'"),
    (["--class", "Guaranteed"], "argument --class: invalid choice: 'Guaranteed'"),
    (["--group", "no/slash"], "--group: group must be a group name (1-64 letters, digits, '.', '_' or '-'), "
                              "not 'no/slash'"),
    (["--burst", "64kb"], "argument --burst: not a size in bytes: '64kb'"),
    (["--burst", "lots"], "argument --burst: not a size in bytes: 'lots'"),
    (["--burst", "1.0005K"], "argument --burst: not a whole number of bytes: '1.0005K'"),
    (["--burst", "1e400"], "argument --burst: not a size in bytes: '1e400' (too large)"),
    (["--burst", "1000"], "--burst: burst_bytes must be an integer from 1514 to 536870911875, not 1000"),
    (["--burst", "1T"], "--burst: burst_bytes must be an integer from 1514 to 536870911875"),
    (["--dscp", "64"], "--dscp: dscp must be an integer from 0 to 63, not 64"),
    (["--dscp", "-1"], "--dscp: dscp must be an integer from 0 to 63, not -1"),
    (["--dscp", "AF51"], "argument --dscp: not a DSCP value: 'AF51' (0-63, EF, AF11-AF43 or CS0-CS7)"),
    (["--dscp", "expedited"], "argument --dscp: not a DSCP value: 'expedited'"),
])
def test_bad_new_options_exit_2_in_one_line_and_send_nothing(api, capsys, options, message):
    assert_usage_error(*run(capsys, *ADD, *options), message)
    assert api.seen == []


def test_add_in_a_group_that_does_not_exist_is_refused_by_the_controller(api, capsys):
    status, out, err = run(capsys, *ADD, "--group", "video")
    assert (status, out) == (1, "") and len(api) == 0
    assert err == ("te-intent: error: the controller refused POST /te/v1/intents (400): group 'video' does not exist "
                   "(create it with POST /te/v1/groups first) (field group)\n")


# --- the admission refusal -------------------------------------------------------------------------------

def test_an_admission_refusal_is_one_line_with_the_largest_rate_that_fits(api, capsys):
    def refuse(intents, asking):
        raise AdmissionRefused("guaranteed 4e+06 bit/s from 10.0.0.1 to 10.0.0.5 does not fit with the 0 other "
                               "guaranteed intents: link s1->s2 (needs 4e+06 of 2.5e+06 bit/s); at most 2.5e+06 "
                               "bit/s would fit", "rate_bps",
                               {"largest_fitting_bps": 2.5e6, "links": [{"src": "s1", "dst": "s2",
                                                                         "capacity_bps": 2.5e6, "needed_bps": 4e6}]})
    api.admission = refuse
    assert run(capsys, *ADD, "--name", "web")[0] == 0  # best-effort: not checked
    status, out, err = run(capsys, *ADD, "--src", "10.0.0.2", "--class", "guaranteed")
    assert (status, out) == (1, "") and len(api) == 1
    assert err == ("te-intent: error: the controller refused POST /te/v1/intents (409): guaranteed 4e+06 bit/s from "
                   "10.0.0.1 to 10.0.0.5 does not fit with the 0 other guaranteed intents: link s1->s2 (needs 4e+06 "
                   "of 2.5e+06 bit/s); at most 2.5e+06 bit/s would fit (field rate_bps); largest rate that fits: "
                   "2.5 Mbit/s\n")


def test_a_group_cap_refusal_names_the_largest_rate_that_fits(api, capsys):
    api.create_group({"name": "video", "rate_cap_bps": 5e6})
    assert run(capsys, *ADD, "--class", "guaranteed", "--group", "video")[0] == 0
    status, _, err = run(capsys, "add", "--src", "10.0.0.2", "--dst", "10.0.0.5", "--rate", "2M", "--class",
                         "guaranteed", "--group", "video")
    assert status == 1 and len(err.splitlines()) == 1 and "(409)" in err
    assert err.endswith("(field rate_bps); largest rate that fits: 1 Mbit/s\n")


def test_an_admission_refusal_of_an_apply_changes_nothing(api, tmp_path, capsys):
    def refuse(intents, asking):
        raise AdmissionRefused("does not fit", "rate_bps", {"largest_fitting_bps": 1.5e6, "links": []})
    api.admission = refuse
    path = write(tmp_path, "- {name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 2M, class: guaranteed}\n")
    status, out, err = run(capsys, "apply", "-f", path)
    assert (status, out) == (1, "") and len(api) == 0
    assert err == ("te-intent: error: the controller refused POST /te/v1/apply (409): intents[0]: does not fit "
                   "(field intents[0].rate_bps); largest rate that fits: 1.5 Mbit/s; nothing was changed\n")


# --- list, show, allocations ----------------------------------------------------------------------------

def test_list_show_and_allocations_have_class_and_group(api, capsys):
    api.create_group({"name": "video"})
    api.create({"name": "cam", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6, "class": "guaranteed",
                "group": "video", "burst_bytes": 64000, "dscp": 34})
    api.create({"name": "web", "src": "10.0.0.2", "dst": "10.0.0.5", "rate_bps": 1e6})
    api.views["1"] = {"state": "degraded", "allocated_bps": 3e6, "shortfall_bps": 1e6, "short_links": [
        {"src": "0000000000000001", "dst": "0000000000000002", "capacity_bps": 3e6, "needed_bps": 4e6}]}

    status, out, _ = run(capsys, "list")
    rows = [line.split() for line in out.splitlines()]
    assert status == 0 and rows[0][7:9] == ["CLASS", "GROUP"]
    assert rows[1][8:10] == ["guaranteed", "video"] and rows[2][8:10] == ["best-effort", "-"]

    status, out, _ = run(capsys, "show", "cam")
    lines = out.splitlines()
    assert status == 0
    for line in ("class:     guaranteed", "group:     video", "burst:     64000 bytes", "dscp:      34 (AF41)",
                 "state:     degraded", "allocated: 3 Mbit/s", "shortfall: 1 Mbit/s",
                 "short on:  1->2 needs 4 Mbit/s of 3 Mbit/s"):
        assert line in lines, out
    status, out, _ = run(capsys, "show", "web")
    assert "burst:     -" in out.splitlines() and "dscp:      -" in out.splitlines() and "shortfall" not in out

    status, out, _ = run(capsys, "allocations")
    rows = [line.split() for line in out.splitlines()]
    assert status == 0 and rows[0] == ["ID", "NAME", "CLASS", "GROUP", "STATE", "REQUESTED", "ALLOCATED", "MEASURED",
                                       "SHORTFALL", "PATHS"]
    assert rows[1] == ["1", "cam", "guaranteed", "video", "degraded", "4", "Mbit/s", "3", "Mbit/s", "-", "1", "Mbit/s",
                       "-"]
    assert rows[2] == ["2", "web", "best-effort", "-", "pending", "1", "Mbit/s", "0", "bit/s", "-", "-", "-"]


# --- groups, group add/set/delete, classes ------------------------------------------------------------------

def test_groups_table_and_json(api, capsys):
    assert run(capsys, "groups") == (0, "no groups\n", "")
    api.create_group({"name": "video", "weight": 3, "rate_cap_bps": 5e7, "guaranteed_bps": 2e7})
    api.create_group({"name": "bulk"})
    api.create({"name": "cam", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6, "class": "guaranteed",
                "group": "video"})
    api.create({"name": "cam2", "src": "10.0.0.2", "dst": "10.0.0.5", "rate_bps": 2e6, "group": "video"})
    api.views["1"] = {"allocated_bps": 4e6}
    status, out, _ = run(capsys, "groups")
    assert status == 0 and [line.split() for line in out.splitlines()] == [
        ["NAME", "WEIGHT", "CAP", "GUARANTEED", "INTENTS", "REQUESTED", "ALLOCATED"],
        ["video", "3", "50", "Mbit/s", "20", "Mbit/s", "2", "6", "Mbit/s", "4", "Mbit/s"],
        ["bulk", "1", "-", "-", "0", "0", "bit/s", "0", "bit/s"]]
    status, out, _ = run(capsys, "groups", "--json")
    groups = json.loads(out)["groups"]
    assert status == 0 and [(g["name"], g["version"], g["intents"]) for g in groups] == [("video", 1, 2), ("bulk", 1, 0)]


def test_classes_table_and_json(api, capsys):
    api.create({"name": "cam", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6, "class": "guaranteed"})
    api.create({"name": "web", "src": "10.0.0.2", "dst": "10.0.0.5", "rate_bps": 1e6})
    api.views["1"] = {"state": "degraded", "allocated_bps": 3e6, "measured_bps": 2.5e6}
    status, out, _ = run(capsys, "classes")
    assert status == 0 and [line.split() for line in out.splitlines()] == [
        ["CLASS", "DSCP", "INTENTS", "DEGRADED", "REQUESTED", "ALLOCATED", "MEASURED"],
        ["best-effort", "by", "priority", "0,10,18,26,34,34,34,34", "1", "0", "1", "Mbit/s", "0", "bit/s", "-"],
        ["guaranteed", "46", "(EF)", "1", "1", "4", "Mbit/s", "3", "Mbit/s", "2.5", "Mbit/s"]]
    status, out, _ = run(capsys, "--json", "classes")
    data = json.loads(out)
    assert status == 0 and [c["class"] for c in data["classes"]] == ["best-effort", "guaranteed"]
    assert data["classes"][1]["degraded"] == 1 and data["groups"] == []


def test_group_add_set_delete(api, capsys):
    status, out, _ = run(capsys, "group", "add", "video", "--weight", "3", "--cap", "50M")
    assert (status, out) == (0, "created group video: weight 3 cap 50 Mbit/s\n")
    assert sent(api, "POST", "/te/v1/groups") == [{"name": "video", "weight": 3.0, "rate_cap_bps": 5e7}]

    api.seen.clear()
    status, out, _ = run(capsys, "group", "set", "video", "--guaranteed", "20M")
    assert (status, out) == (0, "changed group video: guaranteed_bps: - -> 20 Mbit/s\n")
    assert api.seen == [("GET", "/te/v1/groups/video"), ("PUT", "/te/v1/groups/video")]
    assert sent(api, "PUT", "/te/v1/groups/video")[-1] == {"name": "video", "weight": 3.0, "rate_cap_bps": 5e7,
                                                           "guaranteed_bps": 2e7}  # the rest kept

    status, out, _ = run(capsys, "group", "set", "video", "--cap", "none", "--weight", "2", "--json")
    assert status == 0 and json.loads(out) == {"name": "video", "weight": 2.0, "rate_cap_bps": None,
                                               "guaranteed_bps": 2e7, "version": 3}

    api.seen.clear()
    assert run(capsys, "group", "set", "video", "--weight", "2") == (
        0, "group video unchanged: weight 2 guaranteed 20 Mbit/s\n", "")
    assert api.seen == [("GET", "/te/v1/groups/video")]  # nothing to change: no PUT

    api.create({"name": "cam", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6, "group": "video"})
    status, out, err = run(capsys, "group", "delete", "video")
    assert (status, out) == (1, "") and "video" in api.groups()
    assert err == ("te-intent: error: the controller refused DELETE /te/v1/groups/video (409): group 'video' is named "
                   "by intent 1; move or delete them first (field name)\n")
    api.delete("1")
    assert run(capsys, "group", "delete", "video") == (0, "deleted group video\n", "") and api.groups() == {}


def test_group_set_below_the_guaranteed_intents_is_refused(api, capsys):
    api.create_group({"name": "video"})
    api.create({"name": "cam", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6, "class": "guaranteed",
                "group": "video"})
    status, _, err = run(capsys, "group", "set", "video", "--cap", "3M")
    assert status == 1 and len(err.splitlines()) == 1 and "(409)" in err and "below the 4e+06 bit/s" in err
    assert api.get_group("video").rate_cap_bps is None


def test_unknown_group_exits_1(api, capsys):
    status, _, err = run(capsys, "group", "set", "video", "--weight", "2")
    assert status == 1 and err == ("te-intent: error: the controller refused GET /te/v1/groups/video (404): no group "
                                   "named 'video' (field name)\n")


@pytest.mark.parametrize("argv, message", [
    (["group", "add", "video", "--weight", "0"], "--weight: weight must be > 0 and at most 1000, not 0.0"),
    (["group", "add", "video", "--weight", "nan"], "--weight: weight must be a finite number, not nan"),
    (["group", "add", "video", "--cap", "1M", "--guaranteed", "2M"],
     "--cap: rate_cap_bps 1e+06 is below the group's guaranteed_bps 2e+06"),
    (["group", "add", "video", "--cap", "4MB"], "argument --cap: not a rate: '4MB'"),
    (["group", "add", "a/b"], "NAME: name must be 1-64 letters, digits, '.', '_' or '-', not 'a/b'"),
    (["group", "set", "video"], "group set needs at least one of --weight, --cap and --guaranteed"),
    (["group", "set", "../intents", "--weight", "2"], "not a group name: '../intents'"),
    (["group", "delete", "a b"], "not a group name: 'a b'"),
    (["group"], "the following arguments are required: ACTION"),
    (["group", "add"], "the following arguments are required: NAME"),
])
def test_bad_group_commands_exit_2_without_a_request(api, capsys, argv, message):
    assert_usage_error(*run(capsys, *argv), message)
    assert api.seen == []


# --- apply with groups ----------------------------------------------------------------------------------

FILE = """
groups:
  - {name: video, weight: 3, rate_cap_bps: 50M}
  - {name: bulk, guaranteed_bps: 5M}
intents:
  - {name: cam, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 8M, class: guaranteed, group: video, burst_bytes: 64K, dscp: AF41}
  - {name: backup, src: 10.0.0.2, dst: 10.0.0.9, rate_bps: 100M, group: bulk}
  - {name: web, src: 10.0.0.3, dst: 10.0.0.9, rate_bps: 1M}
"""


def test_apply_creates_and_updates_groups_before_the_intents(api, tmp_path, capsys):
    api.create_group({"name": "bulk", "weight": 2})
    path = write(tmp_path, FILE)
    status, out, err = run(capsys, "apply", "-f", path)
    assert (status, err) == (0, "")
    assert api.seen == [("GET", "/te/v1/groups"), ("POST", "/te/v1/groups"), ("PUT", "/te/v1/groups/bulk"),
                        ("POST", "/te/v1/apply"), ("POST", "/te/v1/apply")]
    assert sent(api, "POST", "/te/v1/groups") == [{"name": "video", "weight": 3.0, "rate_cap_bps": 5e7}]
    assert sent(api, "PUT", "/te/v1/groups/bulk") == [{"name": "bulk", "weight": 1.0, "guaranteed_bps": 5e6}]
    assert out.splitlines() == [
        "+ group video: weight 3 cap 50 Mbit/s",
        "~ group bulk: weight: 2 -> 1, guaranteed_bps: - -> 5 Mbit/s",
        "+ cam: 10.0.0.1 -> 10.0.0.5 8 Mbit/s priority 0 weight 1 match - labels owner=te-intent class guaranteed "
        "group video burst 64000 bytes dscp 34 (AF41)",
        "+ backup: 10.0.0.2 -> 10.0.0.9 100 Mbit/s priority 0 weight 1 match - labels owner=te-intent group bulk",
        "+ web: 10.0.0.3 -> 10.0.0.9 1 Mbit/s priority 0 weight 1 match - labels owner=te-intent",
        "3 created, 0 changed, 0 deleted, 0 unchanged",
        "groups: 1 created, 1 changed, 0 unchanged"]
    cam = next(i for i in api.list() if i.name == "cam")
    assert (cam.service_class, cam.group, cam.burst_bytes, cam.dscp) == ("guaranteed", "video", 64000, 34)
    assert api.get_group("bulk").weight == 1.0 and api.get_group("bulk").guaranteed_bps == 5e6

    api.seen.clear()
    status, out, _ = run(capsys, "apply", "-f", path, "--prune")
    assert status == 0 and out.splitlines()[-2:] == ["0 created, 0 changed, 0 deleted, 3 unchanged",
                                                     "groups: 0 created, 0 changed, 2 unchanged"]
    assert api.seen == [("GET", "/te/v1/groups"), ("POST", "/te/v1/apply")]


def test_a_dry_run_shows_the_group_changes_and_makes_none(api, tmp_path, capsys):
    api.create_group({"name": "bulk", "weight": 2})
    api.create({"name": "web", "src": "10.0.0.3", "dst": "10.0.0.9", "rate_bps": 2e6})
    status, out, err = run(capsys, "apply", "-f", write(tmp_path, FILE), "--dry-run")
    assert status == 0
    assert out.splitlines() == [
        "+ group video: weight 3 cap 50 Mbit/s",
        "~ group bulk: weight: 2 -> 1, guaranteed_bps: - -> 5 Mbit/s",
        "+ cam: 10.0.0.1 -> 10.0.0.5 8 Mbit/s priority 0 weight 1 match - labels owner=te-intent class guaranteed "
        "group video burst 64000 bytes dscp 34 (AF41)",
        "+ backup: 10.0.0.2 -> 10.0.0.9 100 Mbit/s priority 0 weight 1 match - labels owner=te-intent group bulk",
        "~ web (id 1): rate_bps: 2 Mbit/s -> 1 Mbit/s",
        "dry run, nothing changed; would 2 create, 1 change, 0 delete, 0 unchanged",
        "groups: would 1 create, 1 change, 0 unchanged"]
    # video does not exist yet: the controller could not plan cam; te-intent did, and says so
    assert err == ("te-intent: note: the controller does not have the group video yet: the intents were planned here, "
                   "without its checks of hosts and admission\n")
    assert api.seen == [("GET", "/te/v1/groups"), ("GET", "/te/v1/intents")]
    assert list(api.groups()) == ["bulk"] and api.get_group("bulk").weight == 2 and len(api) == 1


def test_a_dry_run_with_existing_groups_is_the_controllers_plan(api, tmp_path, capsys):
    api.create_group({"name": "video"})
    path = write(tmp_path, "groups: [{name: video, weight: 2}]\n"
                           "intents: [{name: cam, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 8M, group: video}]\n")
    status, out, err = run(capsys, "apply", "-f", path, "--dry-run", "--json")
    report = json.loads(out)
    assert (status, err) == (0, "") and report["dry_run"] is True
    assert [(c["op"], c["name"], c["fields"]) for c in report["groups"]] == [
        ("update", "video", {"weight": {"old": 1.0, "new": 2.0}})]
    assert [(c["op"], c["desired"]["group"]) for c in report["changes"]] == [("create", "video")]
    assert api.seen == [("GET", "/te/v1/groups"), ("POST", "/te/v1/apply")]
    assert api.get_group("video").weight == 1.0 and len(api) == 0


def test_groups_are_never_deleted_by_apply_even_with_prune(api, tmp_path, capsys):
    api.create_group({"name": "old"})
    path = write(tmp_path, "groups: [{name: video}]\nintents: []\n")
    status, out, _ = run(capsys, "apply", "-f", path, "--prune", "--all")
    assert status == 0 and list(api.groups()) == ["old", "video"]
    assert out.splitlines()[-1] == "groups: 1 created, 0 changed, 0 unchanged"


def test_a_file_without_groups_asks_nothing_about_groups(api, tmp_path, capsys):
    """What a controller without groups also serves: no GET /groups."""
    path = write(tmp_path, "- {name: web, src: 10.0.0.3, dst: 10.0.0.9, rate_bps: 1M, class: guaranteed}\n")
    assert run(capsys, "apply", "-f", path)[0] == 0
    assert api.seen == [("POST", "/te/v1/apply")] * 2
    assert sent(api, "POST", "/te/v1/apply")[0]["intents"] == [
        {"name": "web", "src": "10.0.0.3", "dst": "10.0.0.9", "rate_bps": 1e6, "priority": 0, "weight": 1.0,
         "match": {}, "class": "guaranteed"}]


def test_an_intent_of_a_group_nobody_has_is_refused_before_any_change(api, tmp_path, capsys):
    path = write(tmp_path, "groups: [{name: video}]\n"
                           "intents: [{name: cam, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 8M, group: vidoe}]\n")
    status, out, err = run(capsys, "apply", "-f", path)
    assert (status, out) == (1, "") and api.groups() == {}
    assert err == (f"te-intent: error: intent 'cam' names the group 'vidoe', which the controller does not have and "
                   f"{path} does not define (add it to groups:); nothing was changed\n")
    assert api.seen == [("GET", "/te/v1/groups")]


def test_a_refused_group_change_stops_the_apply(api, tmp_path, capsys):
    api.create_group({"name": "video"})
    api.create({"name": "cam", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 4e6, "class": "guaranteed",
                "group": "video"})
    path = write(tmp_path, "groups: [{name: video, rate_cap_bps: 3M}]\n"
                           "intents: [{name: cam, src: 10.0.0.1, dst: 10.0.0.5, rate_bps: 2M, class: guaranteed, "
                           "group: video}]\n")
    status, _, err = run(capsys, "apply", "-f", path)
    assert status == 1 and err.startswith("te-intent: error: the controller refused PUT /te/v1/groups/video (409): ")
    assert err.endswith("; nothing was changed\n") and len(err.splitlines()) == 1
    assert api.get("1").rate_bps == 4e6 and api.get_group("video").rate_cap_bps is None


def test_refused_intents_after_group_changes_say_what_was_changed(api, tmp_path, capsys):
    path = write(tmp_path, "groups: [{name: video}]\n"
                           "intents: [{name: cam, src: 10.0.0.1, dst: 10.0.0.99, rate_bps: 8M, group: video}]\n")
    status, _, err = run(capsys, "apply", "-f", path)
    assert status == 1 and len(api) == 0 and list(api.groups()) == ["video"]
    assert err == ("te-intent: error: the controller refused POST /te/v1/apply (400): intents[0] (cam): dst 10.0.0.99 "
                   "is not a known host (field intents[0].dst); no intent was changed, but the group video was "
                   "created already\n")


def test_a_group_changed_since_the_file_was_written_is_refused(api, tmp_path, capsys):
    api.create_group({"name": "video"})
    api.replace_group("video", {"name": "video", "weight": 2})
    path = write(tmp_path, "groups: [{name: video, weight: 5, version: 1}]\n")
    status, out, err = run(capsys, "apply", "-f", path)
    assert (status, out) == (1, "") and api.get_group("video").weight == 2
    assert err == ("te-intent: error: group 'video' was based on version 1 of the live group, which is at version 2 "
                   "now; read it again; nothing was changed\n")


@pytest.mark.parametrize("text, message", [
    ("groups: [{name: video, weight: 0}]", "group #1 (video): weight must be > 0 and at most 1000, not 0.0"),
    ("groups: [{name: video, rate_cap_bps: 5MB}]", "group #1 (video): rate_cap_bps: not a rate: '5MB'"),
    ("groups: [{name: video, colour: red}]", "group #1 (video): unknown field colour"),
    ("groups: [{name: video}, {name: video}]", "group #2 (video): name 'video' is already used by group #1"),
    ("groups: {name: video}", "groups must be a list of groups"),
    ("groups: [{name: video, version: 0}]", "group #1 (video): version must be the version"),
    ("groups: [{weight: 2}]", "group #1: name must be 1-64 letters"),
    ("groups: [{name: 12}]", 'group #1: name must be a string, not the int 12 (quote it: name: "...")'),
    ("groups: [{name: v, weight: [1]}]", "group #1 (v): weight must be a number, not the list [1]"),
    ("intents: [{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, class: gold}]",
     "intent #1 (a): class must be best-effort or guaranteed, not 'gold'"),
    ("intents: [{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, burst_bytes: 64kb}]",
     "intent #1 (a): burst_bytes: not a size in bytes: '64kb'"),
    ("intents: [{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, burst_bytes: 100}]",
     "intent #1 (a): burst_bytes must be an integer from 1514"),
    ("intents: [{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, dscp: AF44}]",
     "intent #1 (a): dscp: not a DSCP value: 'AF44'"),
    ("intents: [{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, dscp: 99}]",
     "intent #1 (a): dscp must be an integer from 0 to 63, not 99"),
    ("intents: [{name: a, src: 10.0.0.1, dst: 10.0.0.2, rate_bps: 1M, group: [a]}]",
     "intent #1 (a): group must be a group name, not the list ['a']"),
])
def test_a_bad_group_or_class_field_in_a_file_exits_2_and_sends_nothing(api, tmp_path, capsys, text, message):
    path = write(tmp_path, text + "\n")
    assert_usage_error(*run(capsys, "apply", "-f", path), f"{path}: {message}")
    assert api.seen == []


# --- get -o yaml: the round trip -------------------------------------------------------------------------

def test_get_yaml_writes_groups_and_leaves_defaults_out(api, capsys):
    api.create_group({"name": "video", "weight": 3, "rate_cap_bps": 5e7})
    api.create_group({"name": "bulk"})
    api.create({"name": "cam", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 8e6, "class": "guaranteed",
                "group": "video", "burst_bytes": 64000, "dscp": 34})
    api.create({"name": "web", "src": "10.0.0.2", "dst": "10.0.0.5", "rate_bps": 1e6})
    status, out, _ = run(capsys, "get", "-o", "yaml")
    assert status == 0 and out.splitlines()[0].startswith("# te-intent get -o yaml: 2 intents and 2 groups of http")
    assert yaml.safe_load(out) == {
        "groups": [{"name": "video", "weight": 3, "rate_cap_bps": 50000000, "version": 1},
                   {"name": "bulk", "version": 1}],
        "intents": [{"name": "cam", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 8000000, "class": "guaranteed",
                     "group": "video", "burst_bytes": 64000, "dscp": 34, "version": 1},
                    {"name": "web", "src": "10.0.0.2", "dst": "10.0.0.5", "rate_bps": 1000000, "version": 1}]}
    status, out, _ = run(capsys, "get", "web", "cam", "-o", "json", "--no-versions")
    assert status == 0 and json.loads(out)["groups"] == [{"name": "video", "weight": 3, "rate_cap_bps": 50000000}]
    status, out, _ = run(capsys, "get", "web", "-o", "yaml")
    assert status == 0 and "groups" not in yaml.safe_load(out)


def test_get_yaml_then_apply_changes_nothing(api, tmp_path, capsys):
    api.create_group({"name": "video", "weight": 3, "rate_cap_bps": 5e7, "guaranteed_bps": 1e7})
    api.create_group({"name": "bulk", "weight": 0.5})
    api.create({"name": "cam", "src": "10.0.0.1", "dst": "10.0.0.5", "rate_bps": 8e6, "class": "guaranteed",
                "group": "video", "burst_bytes": 65536, "dscp": 46, "labels": {"owner": "ops"}})
    api.create({"name": "backup", "src": "10.0.0.2", "dst": "10.0.0.9", "rate_bps": 1.5e8, "group": "bulk",
                "priority": 2, "weight": 2.5, "labels": {"owner": "ops"}})
    api.create({"name": "web", "src": "10.0.0.3", "dst": "10.0.0.9", "rate_bps": 1e6, "dscp": 0,
                "labels": {"owner": "ops"}})
    before = ({i.id: i for i in api.list()}, api.groups(), api.generation)
    status, exported, _ = run(capsys, "get", "-o", "yaml")
    assert status == 0 and "best-effort" not in exported and "null" not in exported

    api.seen.clear()
    path = write(tmp_path, exported, "live.yaml")
    status, out, err = run(capsys, "apply", "-f", path, "--prune")
    assert (status, err) == (0, "")
    assert out.splitlines() == ["= group video", "= group bulk", "= cam (id 1)", "= backup (id 2)", "= web (id 3)",
                                "0 created, 0 changed, 0 deleted, 3 unchanged",
                                "groups: 0 created, 0 changed, 2 unchanged"]
    assert api.seen == [("GET", "/te/v1/groups"), ("POST", "/te/v1/apply")]  # nothing to change: no write
    assert ({i.id: i for i in api.list()}, api.groups(), api.generation) == before

    status, again, _ = run(capsys, "get", "-o", "yaml")
    assert again == exported
