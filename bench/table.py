"""The benchmarks' one table (bench/run.sh).

Each benchmark script calls row() for every figure it measures: it prints a
readable line and a "ROW" line holding the figure and its reference measured
in the same run. "table.py LOG OUT_DIR" gathers the ROW lines of a run's
log, prints one table (also written to OUT_DIR/results.txt), with the
aiocqhttp figures of issue 10 quoted as measured elsewhere, and plots each
row's ratio to its reference into OUT_DIR/results.png with gnuplot.

Ratio: the share of the reference's performance reached, so 1.0 is par and
higher is better for every row: value / reference for rates, reference /
value for costs (CPU, instructions, memory).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

# Issue 10's figures for the Python SDK, measured elsewhere (not here).
QUOTED = [
    ("HTTP req/s through nginx, wrk -c16", "3,619 req/s (TCP_NODELAY forced)"),
    ("CPU per HTTP POST", "276 us"),
    ("WS events/s, one Universal conn, 64 outstanding", "12,010 (83 us/event)"),
    ("WS events/s, busy host, pinned, window 64 / window 1", "4,390 / 638"),
    ("WS API calls/s, one at a time / 64 in flight", "8,297 / 21,650"),
    ("memory idle, per idle connection", "46 MB, 35 KiB"),
]

# Issue 10's goals, each checked against the row whose name starts with the
# prefix: ("value", ">=", x) compares the figure itself, ("ratio", ">=", x)
# its ratio to the reference measured in the same run, ("ref", "<=", None)
# the figure against that reference.
GOALS = [
    ("HTTP: shipped example bot (the signed echo) >= 0.90 of the no-op",
     "HTTP example bot", "ratio", ">=", 0.90),
    ("HTTP: ported weather bot >= 0.90 of the no-op",
     "HTTP ported weather bot", "ratio", ">=", 0.90),
    ("HTTP: responder CPU per KiB < 1 us (64 KiB bodies)",
     "responder CPU per KiB of body, 64 KiB", "value", "<", 1.0),
    ("HTTP: RSS peak grows <= one body/thread across the 512 KiB run",
     "responder RSS goal: peak growth across the 512 KiB run", "ref", "<=",
     None),
    ("HTTP: ... and <= one body/thread from before the 64 KiB run",
     "responder RSS goal: peak growth from before the 64 KiB run", "ref",
     "<=", None),
    ("bridge: >= 120,000 events/s, one conn, window 64",
     "bridge events/s, 1 Universal conn, window 64, pinned", "value", ">=",
     120000),
    ("bridge: <= 5 us CPU per event (window 64)",
     "bridge CPU per event (window 64)", "value", "<=", 5.0),
    ("bridge, inline_handlers: >= 120,000 events/s, window 64",
     "bridge inline_handlers events/s, window 64", "value", ">=", 120000),
    ("bridge, inline_handlers: <= 5 us CPU per event (window 64)",
     "bridge inline_handlers CPU per event (window 64)", "value", "<=", 5.0),
    ("bridge: 100 accounts within 20% of one connection",
     "bridge events/s, 100 accounts", "ratio", ">=", 0.80),
    ("bridge, inline_handlers: 100 accounts within 20% of one connection",
     "bridge inline_handlers events/s, 100 accounts", "ratio", ">=", 0.80),
    ("bridge: ahead of aiocqhttp's 4,390 events/s on a busy host (window 64)",
     "bridge events/s, 1 Universal conn, window 64, pinned, busy", "value",
     ">=", 4390),
    ("bridge: ahead of aiocqhttp's 638 events/s on a busy host (window 1)",
     "bridge events/s, 1 Universal conn, window 1, pinned, busy", "value",
     ">=", 638),
    ("WS API: >= 125,000 calls/s through the Unix socket, 64 in flight",
     "Unix socket -> bridge -> WS calls/s, 64", "value", ">=", 125000),
    ("WS API: >= 30,000 calls/s from one handler, one at a time",
     "WS API calls, one handler, one at a time", "value", ">=", 30000),
    ("WS API, inline_handlers: >= 30,000 calls/s one at a time",
     "WS API calls, one at a time, inline_handlers", "value", ">=", 30000),
    ("memory: bridge idle RSS <= 6 MiB", "bridge idle RSS", "value", "<=",
     6.0),
    ("memory: <= 3 KiB per idle connection", "bridge RSS per idle connection",
     "value", "<=", 3.0),
]


def row(what, value, unit, ref_name=None, ref=None, lower_better=False):
    """Prints one figure, readable and as a ROW line for the table."""
    rec = {"what": what, "value": value, "unit": unit, "ref_name": ref_name,
           "ref": ref, "lower_better": lower_better}
    text = "  %-58s %12.1f %-9s" % (what, value, unit)
    if ref is not None:
        text += " ref %s %.1f" % (ref_name, ref)
    print(text)
    print("ROW\t" + json.dumps(rec))
    sys.stdout.flush()


def ratio(r):
    if r["ref"] in (None, 0) or r["value"] == 0:
        return None
    return r["ref"] / r["value"] if r["lower_better"] else \
        r["value"] / r["ref"]


def goals(rows):
    """Issue 10's goals, each with the figure reached and whether it is met
    (rows missing from the run are said to be so)."""
    out = ["", "Issue 10's goals (figures from this run):"]
    for text, prefix, kind, op, x in GOALS:
        r = next((r for r in rows if r["what"].strip().startswith(prefix)),
                 None)
        if r is None:
            out.append("  %-70s %s" % (text, "not measured in this run"))
            continue
        got = ratio(r) if kind == "ratio" else r["value"]
        want = r["ref"] if kind == "ref" else x
        if got is None or want is None:
            out.append("  %-70s %s" % (text, "no reference in this run"))
            continue
        met = {">=": got >= want, "<=": got <= want, "<": got < want}[op]
        out.append("  %-70s %12.2f  %s" % (text, got,
                                            "met" if met else "NOT met"))
    return out


def table(rows):
    out = ["cqhttp bench/run.sh, %s, %d cores (%s)"
           % (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(),
              os.uname().release), "",
           "%-60s %12s %-9s %-14s %12s %6s"
           % ("row", "cqhttp", "unit", "reference", "ref value", "ratio"),
           "-" * 118]
    for r in rows:
        q = ratio(r)
        out.append("%-60s %12.1f %-9s %-14s %12s %6s"
                   % (r["what"][:60], r["value"], r["unit"],
                      r["ref_name"] or "-",
                      "-" if r["ref"] is None else "%.1f" % r["ref"],
                      "-" if q is None else "%.2f" % q))
    out += ["", "Ratio: share of the reference reached (1.00 = par, higher "
            "is better).", "",
            "Quoted, not measured here (issue 10: aiocqhttp 1.4.4, the "
            "Python SDK, measured elsewhere on this machine kind):"]
    out += ["  %-58s %s" % q for q in QUOTED]
    out += goals(rows)
    return "\n".join(out) + "\n"


def plot(rows, png):
    data = [(r["what"].strip(), ratio(r)) for r in rows
            if ratio(r) is not None]
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as f:
        for i, (what, q) in enumerate(data):
            f.write('%d %.4f "%s"\n' % (i, q, what.replace('"', "'")[:48]))
        dat = f.name
    script = """
set terminal pngcairo size 1100,%d font ",9"
set output "%s"
set title "cqhttp: each row's ratio to its reference measured in the same run (1 = par)"
set style fill solid 0.6
set boxwidth 0.7
set xrange [0:*]
set yrange [-0.7:%f] reverse
set ytics scale 0
set xlabel "ratio to reference (higher is better)"
set grid xtics
set arrow from 1, graph 0 to 1, graph 1 nohead dt 2
plot "%s" using (0.5*$2):1:(0.5*$2):(0.35):yticlabels(3) with boxxyerrorbars notitle, \\
     "%s" using 2:1:(sprintf("%%.2f", $2)) with labels left offset 0.5,0 notitle
""" % (120 + 28 * len(data), png, len(data) - 0.3, dat, dat)
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    finally:
        os.unlink(dat)


def main():
    log, out_dir = sys.argv[1], sys.argv[2]
    rows = []
    with open(log) as f:
        for line in f:
            if line.startswith("ROW\t"):
                rows.append(json.loads(line[4:]))
    text = table(rows)
    print(text)
    with open(os.path.join(out_dir, "results.txt"), "w") as f:
        f.write(text)
    plot(rows, os.path.join(out_dir, "results.png"))


if __name__ == "__main__":
    main()
