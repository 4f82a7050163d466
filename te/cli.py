"""``te-solve``: route a demand file over a topology file and report the allocation.

What it says, and where:

- stdout: the summary (objective, times, allocation, the most loaded links by node name), or
  with ``--output -`` the JSON document, the summary then going to stderr.
- stderr: progress (phase, done/total, LPs solved, elapsed) once a run takes more than a
  second, as a self-overwriting line on a terminal or, with ``--progress``, one line per update
  (at most one a second, for logs); ``-q`` silences it. Errors: one line ``te-solve: error: ...``.
- Exit status: 0 done, 1 the solver failed, 2 bad input or options (checked before any solving,
  output paths included), 130 interrupted, :data:`EXIT_BROKEN_PIPE` when the reader of stdout
  went away (``te-solve ... | head -1``).

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
from te.engine import AUTO, DEFAULT_ALPHA, OBJECTIVES, build, candidates_for, generates_paths, paths_arg
from te.errors import InvalidInput, SolverError, TEError
from te.io import display_names, read_demands, read_topology
from te.paths import PATH_METHODS
from te.progress import LineReporter, report, reporting
from te.units import format_rate, parse_rate
from te.unsplit import fewest_paths, paths_used

EXIT_BROKEN_PIPE = 141
"""Exit status when stdout's reader has gone: what a shell reports for a program killed by SIGPIPE (128 + 13)."""
PROGRESS_DELAY = 1.0
"""Seconds before any progress is shown: quick runs stay quiet."""
PROGRESS_INTERVAL = None
"""Seconds between progress updates; None: 0.1 on a terminal, 1 in logs (:class:`te.progress.LineReporter`)."""

_TOP_LINKS = 5


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors in one line like every other error of the command."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser():
    p = _Parser(prog="te-solve", description="Traffic-engineering allocation of demands on a topology.",
                epilog="Rates take SI units: 10G, 2.5 Gbit/s, 400M, 1e9 (bit/s). "
                       "Exit status: 0 done, 1 solver failure, 2 bad input.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--topology", required=True, metavar="FILE",
                   help=".json (node-link), .graphml (Topology Zoo), .graph (Repetita), .dot (YATES) "
                        "or .txt (SNDlib)")
    p.add_argument("--demands", required=True, metavar="FILE",
                   help=".json list, Repetita .demands, or .txt: SNDlib demands or YATES traffic matrices")
    p.add_argument("--objective", required=True, choices=OBJECTIVES)
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, metavar="A",
                   help="alpha-fair only: 0 max throughput, 1 proportional fairness (default), 2 minimum potential "
                        "delay, large alpha near max-min")
    p.add_argument("--paths", type=_paths_flag, default=AUTO, metavar="auto|K",
                   help="auto (default): paths generated as the LPs need them, reaching the optimum over all "
                        "paths; K: the K shortest paths per demand (max-min-fast with auto uses 4)")
    p.add_argument("--max-paths", type=int, metavar="N",
                   help="with --paths auto: at most N paths per demand; the summary shows what the bound costs")
    p.add_argument("--path-method", choices=PATH_METHODS, default="ksp",
                   help="k shortest paths (default) or edge-disjoint paths")
    p.add_argument("--default-capacity", metavar="RATE",
                   help="capacity of links whose file gives none, e.g. 10G or 1e10")
    p.add_argument("--matrix-index", type=int, metavar="N",
                   help="which matrix (line, from 0) of a YATES traffic-matrix file (default 0)")
    p.add_argument("--fewest-paths", type=float, default=0.0, metavar="SECONDS",
                   help="then route the same rates over the fewest paths, with this time limit "
                        "(switches that hash whole flows can follow it; default 0: off)")
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


def _summary(sol, times, names, written=()):
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
    if written:
        lines.append(f"written          {', '.join(written)}")
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


def _document(sol, times, graph, inputs, options, all_paths=False):
    allocated = sol.allocated_bps
    rates = sol.path_rate_bps.tolist()
    ptr = sol.path_ptr.tolist()
    demands = []
    for i, d in enumerate(sol.demands):
        demands.append({
            "id": d.id, "src": d.src, "dst": d.dst, "weight": d.weight, "priority": d.priority,
            "requested_bps": d.rate_bps, "allocated_bps": float(allocated[i]),
            "paths": [{"nodes": list(sol.paths[j]), "rate_bps": rates[j]}
                      for j in range(ptr[i], ptr[i + 1]) if all_paths or rates[j] > 0],
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
        "demands": demands, "links": links,
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


def _solve(args, default_capacity):
    """Read, solve, write: everything that takes long, under the progress line. Returns the summary."""
    report("read")
    graph = read_topology(args.topology, default_capacity)
    demands = read_demands(args.demands, graph, args.matrix_index)
    inputs = {"topology": _file_info(args.topology), "demands": _file_info(args.demands)}
    report("paths")
    t0 = time.perf_counter()
    cands = candidates_for(graph, demands, args.objective, k=args.paths, path_method=args.path_method)
    t1 = time.perf_counter()
    report("build")
    generate = generates_paths(args.objective, args.paths)
    model = build(cands, args.objective, generate=generate, max_paths=args.max_paths, alpha=args.alpha)
    t2 = time.perf_counter()
    report("solve")
    sol = model.solve()
    if generate and args.max_paths is not None:
        report("solve without --max-paths (to show what the bound costs)")
        sol.stats["unbounded"] = _headline(build(cands, args.objective, generate=True).solve())
    if args.fewest_paths > 0:
        report("fewest paths")
        sol = fewest_paths(sol, args.fewest_paths)
    t3 = time.perf_counter()
    times = {"paths": t1 - t0, "build": t2 - t1, "solve": t3 - t2}
    names = display_names(graph)
    written = []
    if args.output:
        report("write")
        options = {**vars(args), "default_capacity": default_capacity}
        doc = _document(sol, times, graph, inputs, options, all_paths=args.all_paths)
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
    return _summary(sol, times, names, written)


def _write_json(path, doc):
    try:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
    except OSError as exc:
        raise InvalidInput(f"--output {path}: cannot write: {exc}") from None


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
