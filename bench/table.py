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
