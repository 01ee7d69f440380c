#!/usr/bin/python3
"""report.py DIR - the table and plot data of bench/run-side-by-side.sh.

Reads, in DIR: mha-*.json (records of `mha bench --json`), pytorch-*.json
(bench/torch_mha.py; the part after "pytorch-" names the variant, e.g.
"system-blas" or "openblas"), skipped.tsv (plugin, case, reason per line),
machine.md (the machine description). Writes DIR/results.md (machine, then one
markdown table) and DIR/plot.dat (GFLOP/s per case and series, for plot.gp;
its first line holds the series names). Only the Python standard library.
"""
import glob
import json
import os
import sys

# The order of the standard suite (mha bench --suite standard).
SUITE = [
    "N=4 L=128 S=128 E=512 H=8",
    "N=4 L=512 S=512 E=512 H=8",
    "N=4 L=128 S=128 E=512 H=8 weights",
    "N=4 L=512 S=512 E=512 H=8 weights",
    "N=1 L=2048 S=2048 E=512 H=8",
    "N=1 L=4096 S=4096 E=512 H=8",
    "N=8 L=1 S=2048 E=512 H=8",
]
SHORT = {  # plot labels
    SUITE[0]: "N4 L128", SUITE[1]: "N4 L512", SUITE[2]: "N4 L128 +w",
    SUITE[3]: "N4 L512 +w", SUITE[4]: "N1 L2048", SUITE[5]: "N1 L4096",
    SUITE[6]: "N8 L1 S2048",
}


def pipeline_path(r):
    """The opencl plugin's path from a record's stages: "fused" (a stage named
    attention*), "flash" (a stage named flash), "absorbed" (scores that are
    not a GEMM), or None."""
    stages = r.get("stages") or {}
    if "flash" in stages:
        return "flash"
    if any(name.startswith("attention") for name in stages):
        return "fused"
    if "scores" in stages and "scores" not in (r.get("gemm_stages") or []):
        return "absorbed"
    return None


def load(path):
    with open(path) as fh:
        return json.load(fh)


def fmt(v, digits=2, none="n/a"):
    if v is None:
        return none
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def main():
    d = sys.argv[1]
    ours = {}     # (plugin, case) -> record
    plugins = []
    for path in sorted(glob.glob(os.path.join(d, "mha-*.json"))):
        for r in load(path):
            key = (r["plugin"], r["case"])
            ours[key] = r
            if r["plugin"] not in plugins:
                plugins.append(r["plugin"])
    torch = {}    # variant -> case -> record
    for path in sorted(glob.glob(os.path.join(d, "pytorch-*.json"))):
        variant = os.path.basename(path)[len("pytorch-"):-len(".json")]
        torch[variant] = {r["case"]: r for r in load(path)}
    skipped = {}
    sk = os.path.join(d, "skipped.tsv")
    if os.path.exists(sk):
        for line in open(sk):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 3:
                skipped[(parts[0], parts[1])] = parts[2]
                if parts[0] not in plugins:
                    plugins.append(parts[0])
    variants = sorted(torch)

    out = []
    machine = os.path.join(d, "machine.md")
    if os.path.exists(machine):
        out.append(open(machine).read().rstrip() + "\n")
    out.append("## Results\n")
    out.append(
        "Median of the timed calls (warm-up 1; repeated until they took 1 s, at least 3, at "
        "most 1000). GFLOP/s = FLOP / median, FLOP = 2NLE² + 2NS·E·kdim + 2NS·E·vdim + "
        "4NLSE + 2NLE² (docs/performance.md). **× PyTorch** = PyTorch's median / ours "
        "(above 1: faster than PyTorch). **/ GEMM-only** = ours / the plugin's GEMM stages "
        "in this run (target ≤ 1.15), n/a when the plugin reports no stages; **(fused)**, "
        "**(flash)**, **(absorbed)**: the opencl plugin's fused, flash or absorbed path "
        "(docs/opencl.md), whose "
        "only GEMMs are the projections it makes, so the ratio measures everything else (the "
        "attention products included) and the target applies to the GEMM-only pairs below "
        "instead; the absorbed path does not project K and V, so its GFLOP/s counts products "
        "it never computes (an effective rate). **allocs** = device "
        "allocations made by the timed calls (target 0). **first call** = cold (fresh "
        "backend and object) / warm (second object on the same backend), ms. n/a: the "
        "plugin keeps no statistics.\n")
    head = ["case", "plugin", "ms", "min–max ms", "GFLOP/s"]
    head += [f"× PyTorch ({v})" for v in variants]
    head += ["/ GEMM-only", "gemm ms", "peak MiB", "allocs", "first call ms"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join("---" for _ in head) + "|")
    series = plugins + [f"pytorch-{v}" for v in variants]
    plot_rows = []
    for case in SUITE:
        plot_vals = []
        for p in plugins:
            r = ours.get((p, case))
            if r is None:
                why = skipped.get((p, case), "not run")
                out.append(f"| {case} | {p} | skipped: {why} |" + " |" * (len(head) - 3))
                plot_vals.append("-")
                continue
            row = [case, p, fmt(r["median_ms"], 1), f"{r['min_ms']:.1f}–{r['max_ms']:.1f}",
                   fmt(r["gflops"])]
            for v in variants:
                t = torch[v].get(case)
                row.append(fmt(t["median_ms"] / r["median_ms"]) if t else "n/a")
            g = r.get("gemm_ms")
            path = pipeline_path(r)
            row.append((fmt(r["median_ms"] / g) + (f" ({path})" if path else "")) if g else "n/a")
            row.append(fmt(g, 1))
            peak = r.get("peak_device_bytes")
            row.append(fmt(peak / 1048576.0, 1) if peak is not None else "n/a")
            row.append(fmt(r.get("steady_allocations")))
            row.append(f"{r['cold_first_ms']:.1f} / {r['warm_first_ms']:.1f}")
            out.append("| " + " | ".join(row) + " |")
            plot_vals.append(f"{r['gflops']:.3f}")
        for v in variants:
            t = torch[v].get(case)
            if t is None:
                plot_vals.append("-")
                continue
            row = [case, f"pytorch ({v}, {t.get('layout', '?')})", fmt(t["median_ms"], 1),
                   f"{t['min_ms']:.1f}–{t['max_ms']:.1f}", fmt(t["gflops"])]
            for w in variants:
                u = torch[w].get(case)
                row.append(fmt(u["median_ms"] / t["median_ms"]) if u else "n/a")
            row += ["—", "—", "—", "—", f"{t['cold_first_ms']:.1f} / —"]
            out.append("| " + " | ".join(row) + " |")
            plot_vals.append(f"{t['gflops']:.3f}")
        plot_rows.append(f"\"{SHORT[case]}\" " + " ".join(plot_vals))
    stages = [(p, c, r) for (p, c), r in sorted(ours.items()) if r.get("stages")]
    if stages:
        out.append("\n### Stages (median ms of each, as the plugin reports them)\n")
        for p, c, r in stages:
            gem = set(r.get("gemm_stages") or [])
            parts = [f"{k} {v:.2f}{' (gemm)' if k in gem else ''}"
                     for k, v in r["stages"].items()]
            out.append(f"- {p}, {c}: " + ", ".join(parts))
    if not variants:
        out.append("\nPyTorch was not run (see the machine section).")
    with open(os.path.join(d, "results.md"), "w") as fh:
        fh.write("\n".join(out) + "\n")
    with open(os.path.join(d, "plot.dat"), "w") as fh:
        fh.write("case " + " ".join(f"\"{s}\"" for s in series) + "\n")
        fh.write("\n".join(plot_rows) + "\n")
    print(len(series) + 1)  # the number of columns, for plot.gp
    return 0


if __name__ == "__main__":
    sys.exit(main())
