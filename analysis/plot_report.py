#!/usr/bin/python3
"""Draws the report of `thinkprobe reduce`: reads results.json, writes one self-contained report.html
(plots as base64 PNGs: probe AUROC by layer, ASR vs ORR per intervention, the refusal valley, within-prefix
variance vs cut; the deliberation cells; tables of
the settings, counts, behaviour by source and category, and every note on what could not be measured).
Usage: plot_report.py RESULTS.json REPORT.html. Called by thinkprobe reduce; needs matplotlib (Agg).
It computes nothing new: every number shown is in results.json."""
import base64, html, io, json, sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError as e:
    sys.exit(f"matplotlib is not available to {sys.executable}: {e}")


def png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f'<img src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def v(e):
    return float("nan") if e is None or e.get("value") is None else e["value"]


def ci(e, key):
    x = e.get(key)
    return float("nan") if x is None else x


def fmt(e):
    if e.get("value") is None:
        return f'<span title="{html.escape(e.get("why", ""))}">n/a</span>'
    lo, hi = e.get("lo"), e.get("hi")
    band = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
    return f'{e["value"]:.3f}{band}'


def cell_name(c):
    return f'{c["model"]} / {c["intervention"]}'


def auroc_plot(c):
    probes = [p for p in c.get("probes", []) if p["group"] == "pooled"]
    if not probes:
        return ""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for pos in sorted({p["position"] for p in probes}):
        pts = sorted((p["layer"], v(p["auroc"]), ci(p["auroc"], "lo"), ci(p["auroc"], "hi")) for p in probes if p["position"] == pos)
        xs = [p[0] for p in pts]
        ax.plot(xs, [p[1] for p in pts], marker="o", label=pos)
        ax.fill_between(xs, [p[2] for p in pts], [p[3] for p in pts], alpha=0.15)
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set(xlabel="layer", ylabel="OOF AUROC (pooled)", ylim=(0, 1), title=f"Probe AUROC by layer: {cell_name(c)}")
    ax.legend(fontsize=8)
    return png(fig)


def tradeoff_plot(cells):
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ordered = [c for model in sorted({c["model"] for c in cells}) for c in cells if c["model"] == model]
    for idx, c in enumerate(ordered):  # one colour per cell; filled circle: majority label, hollow square: soft label
        for label, marker in (("majority", "o"), ("soft", "s")):
            b = {x["metric"]: x[label] for x in c.get("behaviour", []) if x["by"] == "all"}
            if "asr" not in b or "orr" not in b or b["asr"]["value"] is None or b["orr"]["value"] is None:
                continue
            x, y = v(b["orr"]), v(b["asr"])
            ax.errorbar(x, y, xerr=[[x - ci(b["orr"], "lo")], [ci(b["orr"], "hi") - x]],
                        yerr=[[y - ci(b["asr"], "lo")], [ci(b["asr"], "hi") - y]], fmt=marker, capsize=3, color=f"C{idx % 10}",
                        mfc="none" if label == "soft" else None, label=label if idx == 0 else None)
            if label == "majority":
                ax.annotate(cell_name(c), (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
    ax.set(xlabel="ORR (refusal rate on benign)", ylabel="ASR (comply rate on harmful)", xlim=(-0.02, 1.02),
           ylim=(-0.02, 1.02), title="ASR vs ORR per intervention (lower-left is better)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, title="label")
    return png(fig)


def valley_plot(c):
    pts = c.get("valley", [])
    if not pts:
        return ""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for group in ("harmful", "benign"):
        g = sorted((p["index"], p["norm_fisher"]) for p in pts if p["group"] == group)
        if g:
            ax.plot([x for x, _ in g], [float("nan") if y is None else y for _, y in g], marker=".", label=group)
    ax.set(xlabel=f'thinking position ({pts[0]["mode"]}, layer {pts[0].get("layer")})', ylabel="norm-Fisher (refused vs complied)",
           title=f"Refusal valley: {cell_name(c)}")
    ax.legend(fontsize=8)
    return png(fig)


def lockin_plot(cells):
    """Within-prefix variance vs cut percent, one line per cell, with the random reference."""
    cells = [c for c in cells if len(c.get("within_prefix", [])) > 1]
    if not cells:
        return ""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for c in cells:
        pts = sorted((p["cut_percent"], v(p["variance"]), ci(p["variance"], "lo"), ci(p["variance"], "hi")) for p in c["within_prefix"])
        xs = [p[0] for p in pts]
        ax.plot(xs, [p[1] for p in pts], marker="o", label=cell_name(c))
        ax.fill_between(xs, [p[2] for p in pts], [p[3] for p in pts], alpha=0.15)
    ref = cells[0]["within_prefix"][-1]["random_reference"]
    if ref is not None:
        ax.axhline(ref, color="grey", lw=0.8, ls="--", label=f"random ({ref:.3f})")
    ax.set(xlabel="thinking kept before the force-close (% of its tokens; 0 = none)", ylabel="within-prefix variance 4q(1-q)",
           ylim=(0, 1), title="Where the outcome locks: variance of resampled answers vs cut")
    ax.legend(fontsize=7)
    return png(fig)


def deliberation_table(cells, pooled):
    rows = ""
    for c in cells:
        d = c.get("deliberation")
        if not d:
            continue
        s, o = d["summary"], c.get("oscillations", {})
        share = "n/a" if s["share_locked"] is None else f'{s["share_locked"]:.3f}'
        rows += (f'<tr><td>{html.escape(cell_name(c))}</td><td>{s["n"]}</td><td>{s["locked_not_sig"]}</td><td>{s["locked_sig"]}</td>'
                 f'<td>{s["wavering_not_sig"]}</td><td>{s["wavering_sig"]}</td><td>{share}</td><td>{o.get("per_trace") or 0:.3f}</td></tr>')
    if not rows:
        return ""
    share = "n/a" if not pooled or pooled.get("share_locked") is None else f'{pooled["share_locked"]:.3f} of {pooled["n"]}'
    return ("<h2>Deliberation (cut replay)</h2><p>Stance changes in the thinking, answers resampled before and after; "
            f"Fisher exact, Holm-corrected per cell. Share of changes when the outcome was already locked, pooled: <b>{share}</b> "
            "(paper: ~74%).</p><table><tr><th>cell</th><th>changes</th><th>locked, not sig. (theater)</th><th>locked, sig. (hard flip)</th>"
            "<th>wavering, not sig. (noise)</th><th>wavering, sig. (soft causal)</th><th>share locked</th><th>changes per trace</th></tr>"
            f"{rows}</table>")


def behaviour_table(c):
    rows = "".join(
        f'<tr><td>{b["metric"].upper()}</td><td>{b["by"]}</td><td>{html.escape(b.get("key", ""))}</td>'
        f'<td>{b["majority"]["n"]}</td><td>{fmt(b["majority"])}</td><td>{fmt(b["soft"])}</td></tr>'
        for b in c.get("behaviour", []))
    return ("<table><tr><th>metric</th><th>by</th><th>key</th><th>n</th><th>majority [95% CI]</th><th>soft [95% CI]</th></tr>"
            f"{rows}</table>")


def judges_table(c, tie):
    js = c.get("judges", [])
    if not js:
        return ""
    rows = "".join(f'<tr><td>{html.escape(j["id"])}</td><td>{html.escape(j["kind"])}</td><td>{j["refusal"]}</td>'
                   f'<td>{j["compliance"]}</td><td>{j["abstained"]}</td><td>{j["truncated"]}</td></tr>' for j in js)
    return (f"<p>Judges (majority: refusal iff refusal votes &ge; min({tie}, valid votes); soft: mean of valid votes)</p>"
            "<table><tr><th>judge</th><th>kind</th><th>refusal</th><th>compliance</th><th>abstained</th><th>answer truncated</th></tr>"
            f"{rows}</table>")


def probe_table(c):
    rows = "".join(
        f'<tr><td>{p["position"]}</td><td>{p["layer"]}</td><td>{p["group"]}</td><td>{p.get("n", "")}</td>'
        f'<td>{p.get("n_refusals", "")}</td><td>{fmt(p["auroc"])}</td><td>{fmt(p["balanced_accuracy"])}</td>'
        f'<td>{fmt(p["dom_auroc"]) if "dom_auroc" in p else ""}</td></tr>'
        for p in c.get("probes", []))
    return ("<details><summary>probe table</summary><table><tr><th>position</th><th>layer</th><th>group</th><th>n</th>"
            "<th>refusals</th><th>AUROC</th><th>balanced acc.</th><th>diff-of-means AUROC</th></tr>"
            f"{rows}</table></details>")


def main(results_path, out_path):
    r = json.load(open(results_path))
    cells = r["cells"]
    parts = [f"<h1>thinkprobe reduce</h1><p>archive <code>{html.escape(r.get('archive', ''))}</code>, "
             f"thinkprobe {html.escape(r['thinkprobe_version'])}, {len(cells)} model &times; intervention cells. "
             "Every number here is in results.json; hover 'n/a' for the reason.</p>",
             "<h2>ASR vs ORR</h2>", tradeoff_plot(cells), lockin_plot(cells), deliberation_table(cells, r.get("deliberation_pooled"))]
    for c in cells:
        n = c.get("n", {})
        parts.append(f"<h2>{html.escape(cell_name(c))}</h2><p>" +
                     ", ".join(f"{k} {v}" for k, v in n.items()) + "</p>")
        parts += [auroc_plot(c), valley_plot(c), behaviour_table(c), judges_table(c, r["settings"].get("tie_min_votes", "?")),
                  probe_table(c)]
        for note in c.get("notes", []):
            parts.append(f'<p class="note">{html.escape(note.get("position", ""))}: {html.escape(note["why"])} (n={note.get("n", "")})</p>')
    s = r["settings"]
    parts.append("<h2>Settings used</h2><table>" + "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(json.dumps(val) if not isinstance(val, dict) else '')}</td></tr>"
        for k, val in s.items()) + "</table><table>" + "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(val))}</td></tr>" for k, val in s.get("choices", {}).items()) + "</table>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:auto}table{border-collapse:collapse;font-size:12px;margin:6px 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px}.note{color:#a33;font-size:12px}img{max-width:100%}")
    with open(out_path, "w") as f:
        f.write(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>thinkprobe reduce</title><style>{style}</style></head>"
                f"<body>{''.join(parts)}</body></html>\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot_report.py RESULTS.json REPORT.html")
    main(sys.argv[1], sys.argv[2])
