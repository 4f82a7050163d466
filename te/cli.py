"""``te-solve``: route a demand file over a topology file and report the allocation.

What it says, and where:

- stdout: the summary (objective, times, allocation, per group its requested, allocated and cap
  when the demand file has groups, the most loaded links by node name), or with ``--output -``
  the JSON document, the summary then going to stderr.
- stderr: progress (phase, done/total, LPs solved, elapsed) once a run takes more than a
  second, as a self-overwriting line on a terminal or, with ``--progress``, one line per update
  (at most one a second, for logs); ``-q`` silences it. Errors: one line ``te-solve: error: ...``.
- Exit status: 0 done, 1 the solver failed, 2 bad input or options (checked before any solving,
  output paths included), 130 interrupted, :data:`EXIT_BROKEN_PIPE` when the reader of stdout
  went away (``te-solve ... | head -1``).

Groups: a JSON demand file ``{"demands": [...], "groups": [{"name", "weight"?, "rate_cap_bps"?,
"guaranteed_bps"?}]}`` whose demands name a group in ``"group"`` (:func:`te.io.read_demand_file`).
``max-min`` is then hierarchical (:mod:`te.hierarchy`; ``--paths auto`` uses the 4 shortest paths);
the other objectives keep the caps only. The summary and the JSON (``groups``) give each group's
requested and allocated total beside its cap and guarantee.

What-if and failures (:mod:`te.whatif`, which holds the logic):

- ``--fail-link U,V`` / ``--fail-node N`` (repeatable; ids or labels) and ``--scale X`` change the
  input before anything is solved: a failed link loses both directions, a failed node its arcs and
  the demands from or to it (dropped, listed); demands left without a path get 0 and are listed.
- ``--protect-failures K`` (0-3, max-min or max-throughput): the allocation survives any ``K``
  link failures with local rescaling at the ingress (FFC, :mod:`te.ffc`), over ``--paths K``
  candidates (``auto``: up to 4 link-disjoint ones, :func:`te.whatif.protection_candidates`,
  unless ``--path-method`` says otherwise). The summary sets the protected total beside the
  unprotected optimum over the same paths (the cost), counts the demands ``K`` failures can cut
  off (they get 0) and gives the brute-force check's violations (0; "not checked" beyond
  :data:`te.whatif.CHECK_LIMIT` failure sets). Stub links (a node's only link, e.g. a host's) are
  taken not to fail: no path avoids them. No demand groups, ``--max-paths`` or ``--fewest-paths``
  with it. The JSON gains ``protection`` and, per path, ``tunnel_bps`` (the tunnel's reservation,
  the SELECT bucket weight).
- ``--failures 1``: every single link failure in turn: throughput lost and worst utilisation when
  the ingresses rescale the unprotected allocation locally (and the FFC one with
  ``--protect-failures``), and the total when the controller re-solves; worst cases first, the
  ``--top`` N shown, all in the JSON (``failures``). Candidate paths are computed once and reused
  (:func:`te.whatif.link_failure_sweep` says what is recomputed per failure).

Examples
--------
>>> main(["--topology", "/nonexistent.json", "--demands", "d.json", "--objective", "min-mlu"])
2
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from te import __version__
from te.engine import (AUTO, AUTO_FALLBACK_K, DEFAULT_ALPHA, OBJECTIVES, build, candidates_for, generates_paths,
                       hierarchical, paths_arg)
from te.errors import InvalidInput, SolverError, TEError
from te.ffc import FFC_OBJECTIVES, MAX_FAILURES
from te.hierarchy import group_totals
from te.io import display_names, read_demand_file, read_topology
from te.paths import PATH_METHODS
from te.progress import LineReporter, report, reporting
from te.units import format_rate, parse_rate
from te.unsplit import fewest_paths, paths_used
from te.whatif import (CHECK_LIMIT, apply_whatif, link_failure_sweep, parse_link, protect, protection_candidates,
                       resolve_link, resolve_node, stub_links)

EXIT_BROKEN_PIPE = 141
"""Exit status when stdout's reader has gone: what a shell reports for a program killed by SIGPIPE (128 + 13)."""
PROGRESS_DELAY = 1.0
"""Seconds before any progress is shown: quick runs stay quiet."""
PROGRESS_INTERVAL = None
"""Seconds between progress updates; None: 0.1 on a terminal, 1 in logs (:class:`te.progress.LineReporter`)."""

_TOP_LINKS = 5
_LISTED = 10  # demand ids listed in a summary line before "... and N more"
FFC_AUTO_PATHS = 4
"""Candidate paths per demand of ``--protect-failures`` with ``--paths auto``."""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors in one line like every other error of the command."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser():
    p = _Parser(prog="te-solve", description="Traffic-engineering allocation of demands on a topology.",
                epilog="Rates take SI units: 10G, 2.5 Gbit/s, 400M, 1e9 (bit/s). "
                       "Groups: a JSON demand file {\"demands\": [...], \"groups\": [{\"name\": ..., \"weight\": ..., "
                       "\"rate_cap_bps\": ..., \"guaranteed_bps\": ...}]} whose demands name a \"group\" makes max-min "
                       "hierarchical (groups share by weight within caps and above guarantees, then their demands "
                       "share the group's part); other objectives keep the caps only. "
                       "What-if: --fail-link/--fail-node/--scale change the input first; --protect-failures K "
                       "allocates so that any K link failures lose nothing (FFC); --failures 1 fails every link "
                       "in turn. Exit status: 0 done, 1 solver failure, 2 bad input.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--topology", required=True, metavar="FILE",
                   help=".json (node-link), .graphml (Topology Zoo), .graph (Repetita), .dot (YATES) "
                        "or .txt (SNDlib)")
    p.add_argument("--demands", required=True, metavar="FILE",
                   help=".json list (or {\"demands\": [...], \"groups\": [...]}), Repetita .demands, or .txt: SNDlib "
                        "demands or YATES traffic matrices")
    p.add_argument("--objective", required=True, choices=OBJECTIVES)
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, metavar="A",
                   help="alpha-fair only: 0 max throughput, 1 proportional fairness (default), 2 minimum potential "
                        "delay, large alpha near max-min")
    p.add_argument("--paths", type=_paths_flag, default=AUTO, metavar="auto|K",
                   help="auto (default): paths generated as the LPs need them, reaching the optimum over all "
                        "paths; K: the K shortest paths per demand (max-min-fast, alpha-fair and max-min with groups "
                        "use 4 with auto)")
    p.add_argument("--max-paths", type=int, metavar="N",
                   help="with --paths auto: at most N paths per demand; the summary shows what the bound costs")
    p.add_argument("--path-method", choices=PATH_METHODS, default=None,
                   help="k shortest paths (default; disjoint with --protect-failures and --paths auto) or "
                        "edge-disjoint paths")
    p.add_argument("--default-capacity", metavar="RATE",
                   help="capacity of links whose file gives none, e.g. 10G or 1e10")
    p.add_argument("--matrix-index", type=int, metavar="N",
                   help="which matrix (line, from 0) of a YATES traffic-matrix file (default 0)")
    p.add_argument("--fewest-paths", type=float, default=0.0, metavar="SECONDS",
                   help="then route the same rates over the fewest paths, with this time limit "
                        "(switches that hash whole flows can follow it; default 0: off)")
    w = p.add_argument_group("what-if and failures")
    w.add_argument("--fail-link", action="append", default=[], metavar="U,V",
                   help="solve as if the link between nodes U and V (ids or labels) were down, both directions "
                        "(repeatable)")
    w.add_argument("--fail-node", action="append", default=[], metavar="N",
                   help="solve as if node N were down: its links go, demands from or to it are dropped (repeatable)")
    w.add_argument("--scale", default="1", metavar="X",
                   help="multiply every demand's rate by X > 0 (group caps and guarantees unchanged)")
    w.add_argument("--protect-failures", type=int, metavar="K",
                   help=f"allocate so that any K (0-{MAX_FAILURES}) link failures lose nothing when the ingress "
                        "rescales onto surviving paths (FFC; max-min or max-throughput; --paths auto means "
                        f"up to {FFC_AUTO_PATHS} link-disjoint paths); shows what it costs against the unprotected "
                        "optimum")
    w.add_argument("--failures", type=int, metavar="1",
                   help="fail every link in turn (only 1 at a time): throughput lost and worst utilisation with "
                        "local rescaling (unprotected, and protected with --protect-failures) and after the "
                        "controller re-solves; worst first")
    w.add_argument("--top", type=int, default=10, metavar="N",
                   help="with --failures: show the N worst failures (default 10; the JSON has all)")
    p.add_argument("--output", metavar="FILE.json",
                   help="write the full allocation as JSON; '-' for stdout (the summary then goes to stderr)")
    p.add_argument("--all-paths", action="store_true",
                   help="keep the candidate paths that carry nothing in the JSON (left out by default)")
    p.add_argument("--plot", metavar="FILE.png",
                   help="draw the topology coloured by link utilisation and the CDF of served fractions "
                        "(.png, .svg, .pdf, ...; needs matplotlib)")
    p.add_argument("--progress", action="store_true",
                   help="progress on stderr one line per update (for logs); a terminal gets a live line anyway")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress")
    return p


def _paths_flag(text):
    try:
        return paths_arg(text)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_rate(flag, text):
    """The rate ``text`` given to ``flag``, in bit/s, else an :class:`InvalidInput` naming the flag."""
    try:
        value = parse_rate(text)
    except ValueError as exc:
        raise InvalidInput(f"{flag}: {exc}") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidInput(f"{flag}: must be a rate > 0, got {text!r}")
    return value


def _check_writable(flag, path):
    """Refuse, before any solving, an output path that cannot be written.

    The file is opened for appending (which changes nothing in an existing file) and removed
    again if it did not exist: os.access would say yes to root on a read-only file system.
    """
    target = Path(path)
    parent = target.parent
    if target.is_dir():
        raise InvalidInput(f"{flag} {path}: is a directory")
    if not parent.is_dir():
        reason = f"directory {parent} does not exist" if not parent.exists() else f"{parent} is not a directory"
        raise InvalidInput(f"{flag} {path}: {reason}")
    existed = target.exists()
    try:
        with open(target, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise InvalidInput(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None
    if not existed:
        target.unlink()


def _file_info(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), "bytes": os.path.getsize(path), "sha256": digest.hexdigest()}


def _table(rows):
    """Rows of cells as text: the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])])
            for row in rows]


def _headline(sol):
    """What the objective values: the max utilisation for min-mlu, else the total allocated (bit/s)."""
    return sol.max_link_utilization if sol.objective == "min-mlu" else sol.total_allocated_bps


def _bound_cost(sol):
    """The bounded solution's headline against the unbounded one's, as a line of the summary."""
    bounded, free = _headline(sol), sol.stats["unbounded"]
    left = f" ({sol.stats['left_out']} improving paths left out)" if sol.stats.get("left_out") else ""
    if sol.objective == "min-mlu":
        return f"max utilisation {bounded:.6f} against {free:.6f} without the bound{left}"
    loss = 100 * (free - bounded) / free if free > 0 else 0.0
    return f"allocated {format_rate(bounded)} against {format_rate(free)} without the bound ({loss:.4f}% less){left}"


def _group_lines(totals):
    """The summary's table of groups: weight, requested, allocated, cap and guarantee of each."""
    if not totals:
        return []
    rows = [("group", "weight", "demands", "requested", "allocated", "cap", "guaranteed")]
    for g in totals:
        rows.append((g["name"], f"{g['weight']:g}", str(g["demands"]), format_rate(g["requested_bps"]),
                     format_rate(g["allocated_bps"]),
                     "-" if g["rate_cap_bps"] is None else format_rate(g["rate_cap_bps"]),
                     "-" if g["guaranteed_bps"] is None else format_rate(g["guaranteed_bps"])))
    return ["groups:"] + ["  " + row for row in _table(rows)]


def _summary(sol, times, names, written=(), groups=(), extra=()):
    requested = float(sol.requested_bps.sum())
    allocated = sol.total_allocated_bps
    share = allocated / requested if requested > 0 else 1.0
    lines = [
        f"objective        {sol.objective} ({sol.status})",
        f"demands          {len(sol.demands)}, candidate paths {len(sol.paths)}, "
        f"LPs {sol.stats.get('lps', 0)}, variables {sol.stats.get('variables', 0)}, "
        f"paths used {paths_used(sol)}" + (f" (LP split: {sol.stats['paths_used_before']})"
                                            if "paths_used_before" in sol.stats else ""),
        f"time             paths {times['paths']:.3f} s, build {times['build']:.3f} s, solve {times['solve']:.3f} s",
        f"max utilisation  {sol.max_link_utilization:.4f}",
        f"allocated        {format_rate(allocated)} of {format_rate(requested)} requested ({100 * share:.2f}%)",
        f"fully served     {int(np.sum(sol.allocated_bps >= sol.requested_bps * (1 - 1e-9)))} of {len(sol.demands)} demands",
    ]
    if "rounds" in sol.stats:
        lines.insert(2, f"generated paths  {sol.stats['rounds']} rounds, {sol.stats['lps_total']} LPs in all; "
                        f"paths per demand with traffic: mean {sol.stats['paths_per_demand_mean']:.2f}, "
                        f"max {sol.stats['paths_per_demand_max']}")
    if "unbounded" in sol.stats:
        lines.insert(3, f"--max-paths cost {_bound_cost(sol)}")
    lines += extra
    if written:
        lines.append(f"written          {', '.join(written)}")
    lines += _group_lines(groups)
    lines.append("most loaded links:")
    utilization = sol.utilization
    order = sorted(range(len(sol.arcs)), key=lambda j: (-utilization[j], sol.arcs[j]))[:_TOP_LINKS]
    rows = [("link", "utilisation", "load", "capacity")]
    for j in order:
        u, v = sol.arcs[j]
        rows.append((f"{names.get(u, u)} -> {names.get(v, v)}", f"{100 * utilization[j]:.2f}%",
                     format_rate(sol.load_bps[j]), format_rate(sol.capacity_bps[j])))
    lines += ["  " + row for row in _table(rows)]
    return "\n".join(lines)


def _ids(ids):
    """Demand ids for a summary line, the first few then how many more."""
    ids = list(ids)
    more = f" and {len(ids) - _LISTED} more" if len(ids) > _LISTED else ""
    return ", ".join(ids[:_LISTED]) + more


def _link(link, names):
    u, v = link
    return f"{names.get(u, u)} - {names.get(v, v)}"


def _whatif_lines(whatif, names):
    """Summary lines of --fail-link, --fail-node and --scale."""
    if whatif is None:
        return []
    what = []
    if whatif.failed_links:
        what.append("failed links " + ", ".join(_link(link, names) for link in whatif.failed_links))
    if whatif.failed_nodes:
        what.append("failed nodes " + ", ".join(names.get(n, n) for n in whatif.failed_nodes))
    if whatif.scale != 1.0:
        what.append(f"demands scaled x{whatif.scale:g}")
    lines = [f"what-if          {'; '.join(what)}"]
    if whatif.dropped:
        lines.append(f"  dropped        {len(whatif.dropped)} demands from or to a failed node: "
                     f"{_ids(d.id for d in whatif.dropped)}")
    if whatif.unrouted:
        lost = sum(d.rate_bps for d in whatif.unrouted)
        lines.append(f"  no path        {len(whatif.unrouted)} demands get 0 ({format_rate(lost)} requested): "
                     f"{_ids(d.id for d in whatif.unrouted)}")
    return lines


def _protection_lines(protection, names):
    """Summary lines of --protect-failures: cost, cut-off demands, the brute-force check."""
    if protection is None:
        return []
    p = protection
    lines = [f"protection       FFC against any {p.k} link failure{'s' if p.k != 1 else ''} (local rescaling): "
             f"{format_rate(p.solution.total_allocated_bps)} against {format_rate(p.unprotected.total_allocated_bps)} "
             f"unprotected over the same paths, cost {100 * p.cost:.2f}%"]
    cut = f"{len(p.cut_off)} demands that {p.k} failure{'s' if p.k != 1 else ''} can cut off (they get 0)"
    lines.append(f"  cut off        {cut}" + (f": {_ids(p.cut_off)}" if p.cut_off else ""))
    if p.violations is None:
        check = f"not checked ({p.failure_sets} failure sets, more than {CHECK_LIMIT})"
    else:
        check = f"{len(p.violations)} violations in {p.failure_sets} failure sets"
    lines.append(f"  check          brute force: {check}")
    if p.fixed:
        lines.append(f"  not failing    {len(p.fixed)} stub links (a node's only link: no path avoids it)")
    return lines


def _sweep_lines(sweep, names, top, k):
    """The --failures table, worst first, as text to append to the summary ('' without a sweep)."""
    if sweep is None:
        return ""
    st = sweep.stats
    lines = [f"single link failures: {st['links']} links in {st['seconds']:.3f} s; paths computed once, new paths "
             f"for {st['demands_repathed']} demands in {st['path_searches']} failures, {st['solves']} re-solves "
             f"({st['solves_skipped']} skipped: no path with traffic crosses the link)",
             f"  no failure: {format_rate(sweep.base_bps)}, max utilisation {100 * sweep.base_max_utilization:.2f}%"
             + ("" if sweep.protected_base_bps is None else f"; FFC {format_rate(sweep.protected_base_bps)}")]
    protected = sweep.protected_base_bps is not None
    head = ["link", "demands", "lost (rescaled)", "max util"]
    if protected:
        head += [f"lost (FFC k={k})", "max util"]
    head += ["re-optimised", "lost", "max util"]
    rows = [tuple(head)]
    for case in sweep.cases[:top]:
        row = [_link(case.link, names), str(case.demands_affected), format_rate(case.unprotected.lost_bps),
               f"{100 * case.unprotected.max_utilization:.2f}%"]
        if protected:
            row += [format_rate(case.protected.lost_bps), f"{100 * case.protected.max_utilization:.2f}%"]
        row += [format_rate(case.reoptimised_bps), format_rate(case.reoptimised_lost_bps),
                f"{100 * case.reoptimised_max_utilization:.2f}%"]
        rows.append(tuple(row))
    lines += ["  " + row for row in _table(rows)]
    if len(sweep.cases) > top:
        lines.append(f"  ({top} worst of {len(sweep.cases)} shown; --top N for more, --output for all)")
    return "\n" + "\n".join(lines)


def _document(sol, times, graph, inputs, options, all_paths=False, groups=()):
    allocated = sol.allocated_bps
    rates = sol.path_rate_bps.tolist()
    tunnels = sol.stats.get("tunnel_bps")  # FFC: each tunnel's reservation
    ptr = sol.path_ptr.tolist()
    demands = []
    for i, d in enumerate(sol.demands):
        demands.append({
            "id": d.id, "src": d.src, "dst": d.dst, "weight": d.weight, "priority": d.priority, "group": d.group,
            "requested_bps": d.rate_bps, "allocated_bps": float(allocated[i]),
            "paths": [{"nodes": list(sol.paths[j]), "rate_bps": rates[j],
                       **({} if tunnels is None else {"tunnel_bps": tunnels[j]})}
                      for j in range(ptr[i], ptr[i + 1])
                      if all_paths or rates[j] > 0 or (tunnels is not None and tunnels[j] > 0)],
        })
    links = [{"src": u, "dst": v, "capacity_bps": float(c), "load_bps": float(load), "utilization": float(load / c)}
             for (u, v), c, load in zip(sol.arcs, sol.capacity_bps, sol.load_bps)]
    value = sol.objective_value
    return {
        "version": __version__, "inputs": inputs, "options": options,
        "objective": sol.objective, "status": sol.status,
        "objective_value": value if math.isfinite(value) else None,
        "max_link_utilization": sol.max_link_utilization,
        "total_requested_bps": float(sol.requested_bps.sum()),
        "total_allocated_bps": sol.total_allocated_bps,
        "solve_seconds": times["solve"], "build_seconds": times["build"], "paths_seconds": times["paths"],
        "stats": sol.stats,
        "node_labels": {n: str(label) for n, label in graph.nodes(data="label") if label is not None},
        "groups": list(groups), "demands": demands, "links": links,
    }


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def _progress(args):
    """Report progress on stderr for the block, if a person or a log is there to read it."""
    tty = _isatty(sys.stderr)
    if args.quiet or not (tty or args.progress):
        yield
        return
    line = LineReporter(sys.stderr, tty=tty and not args.progress, delay=PROGRESS_DELAY, interval=PROGRESS_INTERVAL)
    with line, reporting(line):
        yield


def _whatif(args, graph, demands):
    """The input changed by --fail-link, --fail-node and --scale (None when none is given)."""
    if not (args.fail_link or args.fail_node or args.scale != 1.0):
        return None
    links, nodes = [], []
    for text in args.fail_link:
        try:
            links.append(resolve_link(graph, *parse_link(text)))
        except InvalidInput as exc:
            raise InvalidInput(f"--fail-link {text}: {exc}") from None
    for name in args.fail_node:
        try:
            nodes.append(resolve_node(graph, name))
        except InvalidInput as exc:
            raise InvalidInput(f"--fail-node {name}: {exc}") from None
    try:
        return apply_whatif(graph, demands, links, nodes, args.scale)
    except InvalidInput as exc:  # the links and nodes are resolved: a scaled rate out of bounds
        raise InvalidInput(f"--{exc}") from None


def _path_options(args, notes):
    """(paths, method) the candidates are computed with; --protect-failures turns auto into 4 disjoint paths."""
    paths, method = args.paths, args.path_method or "ksp"
    if args.protect_failures is not None and paths == AUTO:
        paths = FFC_AUTO_PATHS
        if args.path_method is None:
            method = "disjoint"
        notes.append(f"paths            --protect-failures with --paths auto: up to {FFC_AUTO_PATHS} "
                     f"{'link-disjoint' if method == 'disjoint' else 'shortest'} paths per demand "
                     f"(--paths {paths} --path-method {method})")
    return paths, method


def _solve(args, default_capacity):
    """Read, solve, write: everything that takes long, under the progress line. Returns the summary."""
    report("read")
    graph = read_topology(args.topology, default_capacity)
    demands, groups = read_demand_file(args.demands, graph, args.matrix_index)
    inputs = {"topology": _file_info(args.topology), "demands": _file_info(args.demands)}
    names = display_names(graph)
    whatif = _whatif(args, graph, demands)
    if whatif is not None:
        graph, demands = whatif.graph, list(whatif.demands)
    notes = []
    paths, method = _path_options(args, notes)
    k = args.protect_failures
    if k is not None and (groups or any(d.group is not None for d in demands)):
        raise InvalidInput("--protect-failures: FFC does not take demand groups (the demand file has some)")
    report("paths")
    t0 = time.perf_counter()
    if k is None:
        find_paths = None
        cands = candidates_for(graph, demands, args.objective, k=paths, path_method=method, groups=groups)
    else:
        def find_paths(g, ds):
            return protection_candidates(g, ds, k=paths, method=method)
        cands = find_paths(graph, demands)
    t1 = time.perf_counter()
    report("build")
    generate = k is None and generates_paths(args.objective, paths, demands, groups)
    if args.max_paths is not None and hierarchical(args.objective, demands, groups):
        raise InvalidInput("--max-paths: max-min with groups generates no paths (with --paths auto it takes the "
                           f"{AUTO_FALLBACK_K} shortest)")
    protection = None
    if k is None:
        model = build(cands, args.objective, generate=generate, max_paths=args.max_paths, alpha=args.alpha,
                      groups=groups)
    t2 = time.perf_counter()
    report("solve")
    if k is None:
        sol = model.solve()
        plain = sol
    else:
        report(f"FFC against {k} link failures")
        protection = protect(cands, k, args.objective, fixed=stub_links(graph))
        sol, plain = protection.solution, protection.unprotected
    if generate and args.max_paths is not None:
        report("solve without --max-paths (to show what the bound costs)")
        sol.stats["unbounded"] = _headline(build(cands, args.objective, generate=True, groups=groups).solve())
    if args.fewest_paths > 0:
        report("fewest paths")
        sol = fewest_paths(sol, args.fewest_paths)
        plain = sol
    t3 = time.perf_counter()
    times = {"paths": t1 - t0, "build": t2 - t1, "solve": t3 - t2}
    sweep = None
    if args.failures:
        sweep = link_failure_sweep(graph, plain, args.objective, protected=sol if k else None, paths=paths,
                                   path_method=method, generate=generate, max_paths=args.max_paths,
                                   alpha=args.alpha, groups=groups, find_paths=find_paths)
    totals = group_totals(sol, groups) if groups else []
    written = []
    if args.output:
        report("write")
        options = {**vars(args), "default_capacity": default_capacity, "paths": paths, "path_method": method}
        doc = _document(sol, times, graph, inputs, options, all_paths=args.all_paths, groups=totals)
        if whatif is not None:
            doc["whatif"] = whatif.to_dict()
        if protection is not None:
            doc["protection"] = protection.to_dict()
        if sweep is not None:
            doc["failures"] = sweep.to_dict()
        if args.output == "-":
            json.dump(doc, sys.stdout, indent=1)
            sys.stdout.write("\n")
            sys.stdout.flush()
        else:
            _write_json(args.output, doc)
            written.append(args.output)
    if args.plot:
        from te.plot import plot_solution

        report("plot")
        try:
            plot_solution(graph, sol, args.plot, names)
        except OSError as exc:
            raise InvalidInput(f"--plot {args.plot}: cannot write: {exc}") from None
        written.append(args.plot)
    extra = notes + _whatif_lines(whatif, names) + _protection_lines(protection, names)
    return _summary(sol, times, names, written, totals, extra) + _sweep_lines(sweep, names, args.top, k)


def _write_json(path, doc):
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
    except OSError as exc:
        raise InvalidInput(f"--output {path}: cannot write: {exc}") from None


def _check_whatif_options(args):
    """Refuse, before reading anything, what-if and failure options that cannot work (exit 2)."""
    try:
        args.scale = float(args.scale)
    except ValueError:
        raise InvalidInput(f"--scale: must be a number > 0, got {args.scale!r}") from None
    if not math.isfinite(args.scale) or args.scale <= 0:
        raise InvalidInput(f"--scale: must be a number > 0, got {args.scale:g}")
    for text in args.fail_link:
        try:
            parse_link(text)
        except InvalidInput as exc:
            raise InvalidInput(f"--fail-link {text}: {exc}") from None
    if args.failures is not None and args.failures != 1:
        raise InvalidInput(f"--failures: only single link failures (1) are swept, got {args.failures}")
    if args.top < 1:
        raise InvalidInput(f"--top: must be >= 1, got {args.top}")
    if args.top != 10 and args.failures is None:
        raise InvalidInput("--top: only with --failures 1")
    k = args.protect_failures
    if k is None:
        return
    if not 0 <= k <= MAX_FAILURES:
        raise InvalidInput(f"--protect-failures: must be 0 to {MAX_FAILURES} link failures, got {k}")
    if args.objective not in FFC_OBJECTIVES:
        raise InvalidInput(f"--protect-failures: FFC allocates with --objective {' or '.join(FFC_OBJECTIVES)}, "
                           f"not {args.objective}")
    if args.max_paths is not None:
        raise InvalidInput("--max-paths: not with --protect-failures (it uses fixed candidate paths)")
    if args.fewest_paths > 0:
        raise InvalidInput("--fewest-paths: not with --protect-failures (moving traffic to fewer paths would undo "
                           "the protection)")


def _run(args) -> int:
    def fail(exc, status=2):
        print(f"te-solve: error: {exc}", file=sys.stderr)
        return status

    try:
        default_capacity = None
        if args.default_capacity is not None:
            default_capacity = _positive_rate("--default-capacity", args.default_capacity)
        if args.matrix_index is not None and args.matrix_index < 0:
            raise InvalidInput(f"--matrix-index: must be >= 0, got {args.matrix_index}")
        if args.objective == "alpha-fair":
            from te.alphafair import check_alpha

            try:
                check_alpha(args.alpha)
            except InvalidInput as exc:
                raise InvalidInput(f"--alpha: {exc}") from None
        if args.max_paths is not None:
            if args.paths != AUTO:
                raise InvalidInput(f"--max-paths: only with --paths auto (got --paths {args.paths})")
            if args.max_paths < 1:
                raise InvalidInput(f"--max-paths: must be >= 1, got {args.max_paths}")
        _check_whatif_options(args)
        if args.output and args.output != "-":
            _check_writable("--output", args.output)
        if args.plot:
            _check_writable("--plot", args.plot)
            from te.plot import check_plot_path

            try:
                check_plot_path(args.plot)
            except InvalidInput as exc:
                raise InvalidInput(f"--plot {args.plot}: {exc}") from None
        with _progress(args):
            summary = _solve(args, default_capacity)
    except TEError as exc:
        return fail(exc, 1 if isinstance(exc, SolverError) else 2)
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as exc:
        return fail(exc)
    print(summary, file=sys.stderr if args.output == "-" else sys.stdout, flush=True)
    return 0


def _quiet_stdout():
    """Point stdout at devnull, so that the interpreter's last flush does not fail on the closed pipe too."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (captured by a test): nothing to flush
        pass


def main(argv=None) -> int:
    """Run ``te-solve``; returns the exit status (0 ok, 1 solver failure, 2 bad input; see the module notes)."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # The reader of stdout is gone (te-solve ... | head -1): nobody is left to tell.
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("te-solve: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
