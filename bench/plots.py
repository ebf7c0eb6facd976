"""The report's plots (matplotlib, Agg): one PNG per benchmark that has something to draw."""

from __future__ import annotations

from pathlib import Path

EARMARK_COLOUR = "#1b7837"
BASELINE_COLOUR = "#999999"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_all(results: dict[str, dict], docs: Path) -> dict[str, str]:
    """Write every plot that the results allow; returns {benchmark name: file name}."""
    writers = {"ratios": _ratios, "prep": _prep, "inference": _inference, "scaling": _scaling,
               "loading": _loading}
    written = {}
    for name, writer in writers.items():
        source = results if name == "ratios" else results.get(name)
        if not source or (name != "ratios" and source.get("error")):
            continue
        target = docs / f"bench_{name}.png"
        try:
            if writer(source, target):
                written[name] = target.name
        except (KeyError, TypeError, ValueError):
            continue      # a plot is a convenience; the tables carry the figures
    return written


def _save(fig, target: Path) -> bool:
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    _pyplot().close(fig)
    return True


def _ratios(results: dict[str, dict], target: Path) -> bool:
    rows = [(f"{name}: {r['figure'][:60]}", r["ratio"], r.get("target"))
            for name, result in results.items() for r in (result.get("rows") or []) if r.get("ratio")]
    if not rows:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(rows) + 1.5))
    labels = [r[0] for r in rows][::-1]
    values = [r[1] for r in rows][::-1]
    colours = [EARMARK_COLOUR if v >= (t or 1.0) else "#d6604d" for _, v, t in rows[::-1]]
    ax.barh(labels, values, color=colours)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("ratio (Earmark better above 1; red: below its target or below 1)")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("Every figure as a ratio against its baseline")
    return _save(fig, target)


def _pair(ax, labels, earmark, baseline, ylabel: str) -> None:
    import numpy as np

    x = np.arange(len(labels))
    ax.bar(x - 0.2, earmark, 0.4, label="Earmark", color=EARMARK_COLOUR)
    ax.bar(x + 0.2, baseline, 0.4, label="baseline", color=BASELINE_COLOUR)
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.legend()


def _prep(result: dict, target: Path) -> bool:
    extra = result["extra"]
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    _pair(left, [f"{extra['n_clips']} clips"], [extra["earmark_s"]], [extra["baseline_s"]], "seconds")
    left.set_title("Preparation time")
    _pair(right, ["on disk"], [extra["cache_bytes"] / 2**20], [extra["png_bytes"] / 2**20], "MiB")
    right.set_title("Size on disk")
    return _save(fig, target)


def _loading(result: dict, target: Path) -> bool:
    rows = result["rows"]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    _pair(ax, [r["figure"].split(", ", 2)[-1].replace(" (s)", "") for r in rows], [r["earmark"] for r in rows],
          [r["baseline"] for r in rows], "seconds per epoch")
    ax.set_title("One training epoch of data")
    return _save(fig, target)


def _inference(result: dict, target: Path) -> bool:
    rows = [r for r in result["rows"] if r.get("earmark") is not None]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.8))
    labels = [r["figure"].split(":")[0].replace("shipped model ", "shipped: ")[:28] for r in rows]
    _pair(ax, labels, [r["earmark"] * 1000 for r in rows], [r["baseline"] * 1000 for r in rows], "ms (batch 1)")
    ax.set_yscale("log")
    ax.set_title("ONNX Runtime (Earmark) vs. PyTorch eager, 2 CPU threads")
    return _save(fig, target)


def _scaling(result: dict, target: Path) -> bool:
    points = result["points"]
    clips = [p["clips"] for p in points]
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(clips, [p["prep_s"] for p in points], "o-", color=EARMARK_COLOUR, label="preparation (s)")
    left.plot(clips, [p["epoch_s"] * 10 for p in points], "s--", color="#2166ac", label="one epoch (s x 10)")
    left.set_xlabel("clips")
    left.set_ylabel("seconds")
    left.legend()
    left.set_title("Time grows linearly")
    right.plot(clips, [p["cache_bytes"] / 2**20 for p in points], "o-", color=BASELINE_COLOUR,
               label="cache on disk (MiB)")
    right.plot(clips, [p["epoch_rss_growth_bytes"] / 2**20 for p in points], "s-", color=EARMARK_COLOUR,
               label="memory growth in an epoch (MiB)")
    right.set_xlabel("clips")
    right.legend()
    right.set_title("Memory stays bounded")
    return _save(fig, target)
