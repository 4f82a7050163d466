"""``te-solve`` talks to its user: progress, names, stdout, early checks, exit codes, JSON, plots.

Each test reproduces one finding of a hostile review of the command (the number in its docstring).
"""
import configparser
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

import te
import te.cli
from te.cli import main
from te.model import Demand
from te.paths import candidate_paths
from te.progress import LineReporter, report, reporting

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".." / "shared" / "data"
REPETITA = DATA / "repetita" / "2016TopologyZooUCL_inverseCapacity"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data set not found at {DATA}")

# A square a-b-c-d-a plus a long-named node, so that names of different widths meet in one table.
SQUARE = {"nodes": [{"id": n} for n in ("a", "b", "c", "d", "longer-name")],
          "links": [{"source": u, "target": v, "capacity": 10e9}
                    for u, v in [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a"), ("a", "longer-name")]]}
DEMANDS = [{"id": "x", "src": "a", "dst": "c", "rate_bps": 1.5e9},
           {"id": "y", "src": "longer-name", "dst": "b", "rate_bps": 999999999.9}]


@pytest.fixture
def square(tmp_path):
    topo, demands = tmp_path / "square.json", tmp_path / "demands.json"
    topo.write_text(json.dumps(SQUARE))
    demands.write_text(json.dumps(DEMANDS))
    return ["--topology", str(topo), "--demands", str(demands), "--objective", "max-throughput"]


ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def run_script(*args):
    """te-solve as its console script runs it: ``sys.exit(main())`` in a fresh interpreter."""
    code = "import sys; from te.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=120)


# ----------------------------------------------------------------------------- 1. progress

def test_candidate_paths_reports_progress_per_pair():
    """1: the path search, minutes on big inputs, says how far it is."""
    g = nx.complete_graph(30, nx.DiGraph)
    nx.set_edge_attributes(g, 1e9, "capacity")
    g = nx.relabel_nodes(g, str)
    demands = [Demand(f"d{s}-{t}", s, t, 1.0) for s in g for t in g if s != t]
    seen = []
    with reporting(lambda *a: seen.append(a)):
        candidate_paths(g, demands, k=2)
    assert seen[0] == ("paths", 0, len(demands)) and seen[-1] == ("paths", len(demands), len(demands))
    assert 2 < len(seen) < len(demands) / 100  # every few hundred pairs, not every one
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)


def test_report_without_listener_does_nothing_and_listeners_nest():
    """1: the default reporter is a no-op; ``reporting`` restores the previous one."""
    report("paths", 1, 2)
    outer, inner = [], []
    with reporting(lambda *a: outer.append(a)):
        with reporting(lambda *a: inner.append(a)):
            report("LPs", 1)
        report("LPs", 2)
    assert inner == [("LPs", 1, None)] and outer == [("LPs", 2, None)]


def test_line_reporter_on_a_terminal_overwrites_itself_and_clears_at_the_end():
    """1: on a terminal, one self-overwriting line (any phase name), erased before the summary."""
    now, out = [0.0], io.StringIO()
    line = LineReporter(out, tty=True, clock=lambda: now[0])
    line("read")
    assert out.getvalue() == ""  # quick runs say nothing
    now[0] = 1.2
    line("colgen", 3, 12)
    now[0] = 1.4
    line("LPs", 7)
    line.close()
    text = out.getvalue()
    assert text == "\rte-solve: colgen 3/12 (25%), 1.2 s\x1b[K\rte-solve: colgen 3/12 (25%), LPs 7, 1.4 s\x1b[K\r\x1b[K"


def test_line_reporter_ticks_while_nothing_is_reported():
    """1: a single long LP reports nothing for minutes; the elapsed time still moves."""
    out = io.StringIO()
    with LineReporter(out, tty=False, delay=0.0, interval=0.05, heartbeat=0.1) as line:
        line("solve")
        import time
        time.sleep(1.3)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and all(l.startswith("te-solve: solve, ") for l in lines)


def test_progress_flag_gives_lines_on_stderr_and_quiet_silences(square, capsys, monkeypatch):
    """1: ``--progress`` writes one line per update to stderr (for logs); ``-q`` nothing at all."""
    monkeypatch.setattr(te.cli, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(te.cli, "PROGRESS_INTERVAL", 0.0)
    assert main(square + ["--progress", "--paths", "4"]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert any(l.startswith("te-solve: paths 0/2 (0%)") for l in lines), lines
    assert any(l.startswith("te-solve: solve") for l in lines)
    assert main(square + ["--progress"]) == 0  # generated paths (the default) report their rounds
    lines = capsys.readouterr().err.splitlines()
    assert any("generating paths: round 1" in l for l in lines), lines
    assert "\r" not in captured.err and "objective" in captured.out
    assert main(square + ["--progress", "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "objective" in captured.out


# ----------------------------------------------------------------------------- 2. names

REPETITA_GRAPH = ("NODES 3\nlabel x y\nSeattle -122.3 47.6\nDenver -105.0 39.7\nChicago -87.6 41.9\n\n"
                  "EDGES 4\nlabel src dest weight bw delay\n"
                  "e0 0 1 1 1000000 5\ne1 1 0 1 1000000 5\ne2 1 2 1 1000000 5\ne3 2 1 1 1000000 5\n")


def test_summary_names_nodes_by_their_labels(tmp_path, capsys):
    """2: a Repetita file names its nodes; the summary shows Seattle -> Denver, not 0 -> 1."""
    (tmp_path / "t.graph").write_text(REPETITA_GRAPH)
    (tmp_path / "t.demands").write_text("DEMANDS 1\nlabel src dest bw\nd0 0 2 2000000\n")
    assert main(["--topology", str(tmp_path / "t.graph"), "--demands", str(tmp_path / "t.demands"),
                 "--objective", "max-min"]) == 0
    out = capsys.readouterr().out
    assert "Seattle -> Denver" in out and "Denver -> Chicago" in out and "0 -> 1" not in out


def test_demand_files_may_name_nodes_by_label(tmp_path, capsys):
    """2: a demand may name a node by its label; ids still work; the JSON keeps ids and lists labels."""
    (tmp_path / "t.graph").write_text(REPETITA_GRAPH)
    (tmp_path / "d.json").write_text(json.dumps([{"src": "Seattle", "dst": "Chicago", "rate_bps": "1G"},
                                                 {"src": "2", "dst": "Denver", "rate_bps": "1G"}]))
    out = tmp_path / "out.json"
    assert main(["--topology", str(tmp_path / "t.graph"), "--demands", str(tmp_path / "d.json"),
                 "--objective", "max-min", "--output", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert [(d["src"], d["dst"]) for d in doc["demands"]] == [("0", "2"), ("2", "1")]
    assert doc["node_labels"] == {"0": "Seattle", "1": "Denver", "2": "Chicago"}


# ----------------------------------------------------------------------------- 3, 4. output

def test_output_dash_writes_pure_json_to_stdout(square, tmp_path, capsys, monkeypatch):
    """3: ``--output -`` is stdout (no file named '-'); the summary moves to stderr."""
    monkeypatch.chdir(tmp_path)
    assert main(square + ["--output", "-"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["objective"] == "max-throughput" and "most loaded links" in captured.err
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize("flag, where", [("--output", "missing/out.json"), ("--output", "."),
                                         ("--plot", "missing/out.png"), ("--plot", ".")])
def test_unwritable_output_is_refused_before_solving(square, tmp_path, capsys, monkeypatch, flag, where):
    """4 and 12: a bad output path is a one-line error (exit 2) before any path search or LP."""
    monkeypatch.chdir(tmp_path)

    def must_not_run(*a, **k):
        raise AssertionError("solved before checking the output path")

    monkeypatch.setattr(te.cli, "candidates_for", must_not_run)
    assert main(square + [flag, where]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"te-solve: error: {flag} {where}: "), err


# ----------------------------------------------------------------------------- 5, 6, 11. process

@pytest.mark.parametrize("extra", [[], ["--output", "-"]], ids=["summary", "json"])
def test_closed_stdout_pipe_is_no_traceback(square, tmp_path, extra):
    """5: ``te-solve ... | head -1``: stdout closed before te-solve writes; no traceback."""
    code = "import sys; from te.cli import main; sys.exit(main())"
    proc = subprocess.Popen([sys.executable, "-c", code, *square, *extra], cwd=tmp_path, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first byte is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err
    assert proc.returncode == te.cli.EXIT_BROKEN_PIPE


def test_version(capsys):
    """6: ``--version`` prints the package version, the one setup.cfg installs."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert te.__version__ == cfg["metadata"]["version"]
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out == f"te-solve {te.__version__}\n"


def test_python_dash_m_runs_the_command():
    """11: ``python -m te.cli`` is te-solve, with its exit codes."""
    r = subprocess.run([sys.executable, "-m", "te.cli", "--version"], cwd=REPO, env=ENV, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout == f"te-solve {te.__version__}\n"
    r = subprocess.run([sys.executable, "-m", "te.cli", "--topology", "nope.json", "--demands", "d.json",
                        "--objective", "max-min"], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("te-solve: error: ") and r.stderr.count("\n") == 1


def test_usage_errors_are_one_line(square, capsys):
    """Bad input anywhere is one line: argparse's usage errors too."""
    with pytest.raises(SystemExit) as exc:
        main(square + ["--paths", "many"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and err.startswith("te-solve: error: "), err


# ----------------------------------------------------------------------------- 8. columns

def test_summary_columns_line_up_and_rates_round_up_to_the_unit(square, capsys):
    """8: 999999999.9 bit/s is 1.000 Gbit/s; the most-loaded-links table has aligned columns."""
    assert main(square) == 0
    out = capsys.readouterr().out
    assert "1000.000 Mbit/s" not in out and "2.500 Gbit/s" in out
    rows = out.split("most loaded links:\n")[1].splitlines()
    assert len(rows) >= 4 and any("longer-name" in r for r in rows)
    assert len({len(r) for r in rows}) == 1, rows  # right-aligned numbers: every row ends at one column
    assert len({r.index("%") for r in rows[1:]}) == 1, rows


# ----------------------------------------------------------------------------- 9, 10. JSON

def test_json_leaves_out_zero_rate_paths_unless_asked(square, tmp_path, capsys):
    """9: only paths that carry traffic, unless ``--all-paths``."""
    out = tmp_path / "out.json"
    assert main(square + ["--output", str(out), "--paths", "4"]) == 0
    paths = [p for d in json.loads(out.read_text())["demands"] for p in d["paths"]]
    assert paths and all(p["rate_bps"] > 0 for p in paths)
    assert main(square + ["--output", str(out), "--all-paths", "--paths", "4"]) == 0
    every = [p for d in json.loads(out.read_text())["demands"] for p in d["paths"]]
    assert len(every) > len(paths) and any(p["rate_bps"] == 0 for p in every)


def test_json_records_inputs_options_and_version(square, tmp_path, capsys):
    """10: the document says what it was computed from, how, and by which version."""
    out = tmp_path / "out.json"
    assert main(square + ["--output", str(out), "--paths", "3"]) == 0
    doc = json.loads(out.read_text())
    topo = Path(square[1])
    assert doc["version"] == te.__version__
    assert doc["inputs"]["topology"] == {"path": str(topo), "bytes": topo.stat().st_size,
                                         "sha256": hashlib.sha256(topo.read_bytes()).hexdigest()}
    assert doc["inputs"]["demands"]["path"] == square[3]
    assert doc["options"]["paths"] == 3 and doc["options"]["objective"] == "max-throughput"
    assert doc["options"]["output"] == str(out) and doc["options"]["all_paths"] is False


# ----------------------------------------------------------------------------- 12. plot

def test_plot_writes_a_png(square, tmp_path, capsys):
    """12: ``--plot FILE.png``: topology coloured by utilisation and the CDF of served fractions."""
    png = tmp_path / "plot.png"
    assert main(square + ["--plot", str(png)]) == 0
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000


def test_plot_with_an_unknown_image_format_is_refused_before_solving(square, tmp_path, capsys):
    assert main(square + ["--plot", str(tmp_path / "plot.xyz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--plot" in err and "png" in err


@needs_data
def test_plot_places_topology_zoo_nodes_by_latitude_and_longitude(tmp_path):
    from te.plot import node_positions

    graph = te.read_topology(DATA / "topologyzoo" / "Abilene.graphml", default_capacity_bps=1e10)
    pos = node_positions(graph)
    node = next(n for n in graph if graph.nodes[n].get("label") == "Seattle")
    assert pos[node] == (graph.nodes[node]["Longitude"], graph.nodes[node]["Latitude"])


# ----------------------------------------------------------------------------- by hand, on real data

@needs_data
def test_repetita_abilene_end_to_end(tmp_path):
    r = run_script("--topology", str(REPETITA / "Abilene.graph"), "--demands", str(REPETITA / "Abilene.0000.demands"),
                   "--objective", "min-mlu", "--output", "-", "-q")
    assert r.returncode == 0 and r.stdout.startswith("{"), r.stderr
    doc = json.loads(r.stdout)
    assert doc["max_link_utilization"] == pytest.approx(0.9, abs=0.05)
    assert re.search(r"\n +\d+_[A-Z]\w* -> \d+_[A-Z]\w* ", r.stderr), r.stderr  # 3_Seattle -> 4_Sunnyvale


def test_alpha_fair_from_the_command_line(square, capsys):
    """alpha-fair takes --alpha; outside [0, 4] it is one line naming alpha, exit 2, before any solving."""
    args = [a if a != "max-throughput" else "alpha-fair" for a in square]
    assert main(args + ["--alpha", "2"]) == 0
    assert "alpha-fair (optimal)" in capsys.readouterr().out
    assert main(args + ["--alpha", "6"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("te-solve: error: --alpha: alpha must be a finite number between 0 and 4") and err.count("\n") == 1


# ----------------------------------------------------------------------------- what-if and failures

def test_fail_link_fail_node_and_scale(square, tmp_path, capsys):
    """The input is changed before solving; the summary and the JSON say how; demands left without a path get 0."""
    out = tmp_path / "out.json"
    assert main(square + ["--fail-link", "b,a", "--fail-link", "a,d", "--fail-node", "c", "--scale", "2",
                          "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "what-if          failed links a - b, a - d; failed nodes c; demands scaled x2" in text
    assert "dropped        1 demands from or to a failed node: x" in text
    assert "no path        1 demands get 0 (2.000 Gbit/s requested): y" in text  # longer-name -> b via a only
    doc = json.loads(out.read_text())
    assert doc["whatif"]["failed_links"] == [["a", "b"], ["a", "d"]] and doc["whatif"]["failed_nodes"] == ["c"]
    assert doc["whatif"]["dropped_demands"] == ["x"]
    assert doc["whatif"]["unrouted_demands"][0]["id"] == "y" and doc["demands"] == []
    assert {(l["src"], l["dst"]) for l in doc["links"]} == {("a", "longer-name"), ("longer-name", "a")}


def test_scale_multiplies_every_rate(square, tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(square + ["--scale", "0.5", "--output", str(out)]) == 0
    assert [d["requested_bps"] for d in json.loads(out.read_text())["demands"]] == [0.75e9, 999999999.9 / 2]


@pytest.mark.parametrize("extra, words", [
    (["--fail-link", "a,zz"], "--fail-link a,zz: unknown node 'zz'"),
    (["--fail-link", "a,c"], "--fail-link a,c: no link between 'a' and 'c'"),
    (["--fail-link", "a"], "--fail-link a: expected two nodes U,V"),
    (["--fail-node", "zz"], "--fail-node zz: unknown node 'zz'"),
    (["--scale", "0"], "--scale: must be a number > 0"),
    (["--scale", "-2"], "--scale: must be a number > 0"),
    (["--scale", "lots"], "--scale: must be a number > 0"),
    (["--scale", "1e12"], "--scale 1e+12: demand x: rate_bps"),
    (["--protect-failures", "1", "--objective", "min-mlu"], "--protect-failures: FFC allocates with --objective"),
    (["--protect-failures", "4"], "--protect-failures: must be 0 to 3"),
    (["--protect-failures", "1", "--fewest-paths", "1"], "--fewest-paths: not with --protect-failures"),
    (["--protect-failures", "1", "--max-paths", "2"], "--max-paths: not with --protect-failures"),
    (["--failures", "2"], "--failures: only single link failures (1)"),
    (["--top", "3"], "--top: only with --failures 1"),
])
def test_bad_whatif_options_are_one_line_exit_2(square, capsys, extra, words):
    assert main(square + extra) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("te-solve: error: ") and words in captured.err, captured.err


def test_protect_failures_summary_and_json(square, tmp_path, capsys):
    """FFC over the square: both demands have two link-disjoint tunnels; the check finds nothing."""
    out = tmp_path / "out.json"
    args = [a if a != "max-throughput" else "max-min" for a in square]
    assert main(args + ["--protect-failures", "1", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "--protect-failures with --paths auto: up to 4 link-disjoint paths per demand" in text
    assert "protection       FFC against any 1 link failure (local rescaling): " in text
    assert "brute force: 0 violations in" in text and "not failing    1 stub links" in text
    doc = json.loads(out.read_text())
    p = doc["protection"]
    assert {"k", "unprotected_total_bps", "protected_total_bps", "cost", "cut_off", "violations"} <= set(p)
    assert p["k"] == 1 and p["violations"] == 0 and p["cut_off"] == 0
    assert p["protected_total_bps"] == pytest.approx(doc["total_allocated_bps"])
    assert 0 <= p["cost"] < 1 and p["unprotected_total_bps"] >= p["protected_total_bps"]
    assert doc["options"]["paths"] == 4 and doc["options"]["path_method"] == "disjoint"
    for d in doc["demands"]:
        assert len(d["paths"]) == 2 and all(path["tunnel_bps"] >= path["rate_bps"] > 0 for path in d["paths"])


def test_failure_sweep_table_and_json(square, tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(square + ["--failures", "1", "--protect-failures", "1", "--top", "2", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    table = text.split("single link failures: 5 links in ")[1].splitlines()
    assert "lost (FFC k=1)" in table[2] and "re-optimised" in table[2]
    assert len(table) == 6 and "(2 worst of 5 shown" in table[5]  # header, 2 rows, the note
    sweep = json.loads(out.read_text())["failures"]
    assert sweep["links"] == 5 and len(sweep["cases"]) == 5
    assert {"path_searches", "demands_repathed", "solves", "solves_skipped", "seconds"} <= set(sweep["stats"])
    lost = [c["unprotected"]["lost_bps"] for c in sweep["cases"]]
    assert lost == sorted(lost, reverse=True)
    for c in sweep["cases"]:
        assert c["protected"]["max_utilization"] <= 1 + 1e-9
        if c["link"] != ["a", "longer-name"]:  # a stub link: no tunnel avoids it
            assert c["protected"]["lost_bps"] == 0.0
        assert set(c["reoptimised"]) >= {"total_bps", "lost_bps", "max_utilization"}


@needs_data
def test_b4_failure_sweep_with_protection(tmp_path):
    topo = DATA / "b4" / "teal_B4.json"
    lines = [l for l in (DATA / "b4" / "teal_B4_real_tms_converted.txt").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    values = [float(v) for v in lines[0].split()]
    demands = tmp_path / "tm0.json"
    demands.write_text(json.dumps([{"src": str(i), "dst": str(j), "rate_bps": values[12 * i + j]}
                                   for i in range(12) for j in range(12) if i != j and values[12 * i + j] > 0]))
    r = run_script("--topology", str(topo), "--demands", str(demands), "--objective", "max-min", "--failures", "1",
                   "--protect-failures", "1", "--output", "-", "-q")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["protection"]["violations"] == 0 and doc["failures"]["links"] == 19
    assert all(c["protected"]["max_utilization"] <= 1 + 1e-9 and c["protected"]["lost_bps"] == 0
               for c in doc["failures"]["cases"])
    assert "single link failures: 19 links" in r.stderr
