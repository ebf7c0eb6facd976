"""Assemble ``docs/BENCHMARKS.md`` and its plots (``docs/bench_*.png``) from the benchmarks' results.

Each benchmark's ``main(quick)`` returns a dict with ``name``, ``title``, ``rows``
(see :func:`bench.workspace.row`: figure, Earmark value, baseline value, ratio - above
1 always means Earmark is better - and target) and ``notes``; some add ``gpu``,
``live`` or ``points``. Unknown shapes are printed as JSON, so a new benchmark shows
up without changing this file.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path
from typing import Any

from bench import plots

DOCS = Path(__file__).resolve().parent.parent / "docs"
ORDER = ("prep", "loading", "train", "inference", "scaling")
VERSIONED = ("numpy", "torch", "torchvision", "onnxruntime", "librosa", "soxr", "scipy", "PIL", "matplotlib")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    memory_bytes = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_bytes = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_bytes": memory_bytes,
            "os": f"{platform.system()} {platform.release()}", "load_average": _load()}


def _load() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def versions() -> dict[str, str]:
    import importlib

    found = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            found[name] = getattr(importlib.import_module(name), "__version__", "?")
        except ImportError:
            found[name] = "not installed"
    return found


def gpu_info() -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"available": False, "name": None}
    if not torch.cuda.is_available():
        return {"available": False, "name": None}
    return {"available": True, "name": torch.cuda.get_device_name(0), "count": torch.cuda.device_count()}


def fmt(value: Any, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.1f} s"
    if unit == "bytes":
        return f"{value / 2**20:.1f} MiB"
    if unit in ("s/clip", "s/item"):
        return f"{value * 1000:.2f} ms/{unit.split('/')[1]}"
    if unit == "samples/s":
        return f"{value:.1f}/s"
    return f"{value:.3g} {unit}"


def rows_table(rows: list[dict]) -> list[str]:
    lines = ["| figure | Earmark | baseline | ratio | target | met |", "|---|---|---|---|---|---|"]
    for r in rows:
        base = fmt(r.get("baseline"), r.get("unit", ""))
        if r.get("baseline_name"):
            base += f" ({r['baseline_name']})"
        ratio = f"**{r['ratio']:.2f}x**" if r.get("ratio") is not None else "-"
        target = f">= {r['target']:g}x" if r.get("target") is not None else ""
        met = {True: "yes", False: "**no**", None: ""}[r.get("meets")]
        figure = r["figure"] + (f" - {r['note']}" if r.get("note") else "")
        lines.append(f"| {figure} | {fmt(r.get('earmark'), r.get('unit', ''))} | {base} | {ratio} | {target} "
                     f"| {met} |")
    return lines


def summary(results: dict[str, dict]) -> list[tuple[str, str, bool | None]]:
    """The issue's acceptance figures: (what, measured, met)."""
    out = []

    def first(name: str, index: int = 0):
        rows = results.get(name, {}).get("rows") or []
        return rows[index] if len(rows) > index else None

    def ratio_line(label: str, r: dict | None, target: float):
        if r is None or r.get("ratio") is None:
            out.append((label, "not measured", None))
        else:
            out.append((label, f"{r['ratio']:.2f}x (target >= {target:g}x)", r["ratio"] >= target))

    ratio_line("Preparation, Earmark vs. PNG pipeline", first("prep", 0), 5.0)
    _extrapolated_prep(results, out)
    ratio_line("Preparation, Earmark in one process (workers=1) vs. PNG pipeline", first("prep", 1), 5.0)
    ratio_line("Size on disk, PNG / Earmark", first("prep", 2), 1.0)
    ratio_line("Loading one epoch on the CPU (Earmark's default vs. the baseline's fastest)", first("loading"), 5.0)
    ratio_line("ONNX Runtime vs. PyTorch eager, shipped model", first("inference", 0), 1.5)
    live = results.get("inference", {}).get("live")
    if live:
        out.append(("Block-to-label latency p95, shipped model", f"{live['p95_s'] * 1000:.1f} ms (target < 50 ms)",
                    live["p95_s"] < 0.050))
    return out


def _extrapolated_prep(results: dict[str, dict], out: list) -> None:
    """ESC-50 size (2,000 clips): Earmark from the scaling fit, the baseline from its measured per-clip rate."""
    prep = (results.get("prep") or {}).get("extra") or {}
    fit = ((results.get("scaling") or {}).get("fits") or {}).get("prep")
    clips = (prep.get("extrapolated") or {}).get("clips")
    if not prep or not fit or not clips or prep.get("extrapolated", {}).get("measured"):
        return
    earmark_s = max(0.0, fit["intercept"]) + fit["slope"] * clips
    baseline_s = prep["baseline_s"] / prep["n_clips"] * clips
    if earmark_s > 0:
        ratio = baseline_s / earmark_s
        out.append((f"Preparation at {clips} clips, **extrapolated** (Earmark: scaling fit; baseline: measured rate)",
                    f"{ratio:.2f}x: {earmark_s / 60:.1f} vs. {baseline_s / 60:.1f} min (target >= 5x)", ratio >= 5.0))


def write_report(results: dict[str, dict], *, quick: bool, command: str, started_utc: str, elapsed_s: float,
                 docs: Path = DOCS, errors: dict[str, str] | None = None) -> Path:
    """Write ``BENCHMARKS.md``, ``bench_results.json`` and the plots into ``docs``; return the markdown path."""
    docs.mkdir(parents=True, exist_ok=True)
    info = {"machine": machine(), "versions": versions(), "gpu": gpu_info(), "command": command, "quick": quick,
            "started_utc": started_utc, "elapsed_s": elapsed_s, "errors": errors or {}}
    images = plots.write_all(results, docs)
    lines = _header(info) + _summary_lines(results)
    ordered = [n for n in ORDER if n in results] + [n for n in results if n not in ORDER]
    for name, result in ((n, results[n]) for n in ordered):
        lines += _section(name, result, images)
    lines += _gpu_lines(results, info["gpu"])
    if errors:
        lines += ["", "## Benchmarks that failed", ""]
        lines += [f"- `{name}`: {message}" for name, message in errors.items()]
    path = docs / "BENCHMARKS.md"
    _atomic_text(path, "\n".join(lines) + "\n")
    _atomic_text(docs / "bench_results.json", json.dumps({"info": info, "results": results}, indent=1,
                                                         default=_json_default))
    return path


def _header(info: dict) -> list[str]:
    m, v = info["machine"], info["versions"]
    memory = f"{m['memory_bytes'] / 2**30:.1f} GiB" if m.get("memory_bytes") else "unknown"
    mode = "quick (`--quick`: smaller sizes)" if info["quick"] else "full (the sizes the issue names)"
    return [
        "# Benchmarks", "",
        "Generated by the command below; do not edit by hand. Every ratio compares Earmark with a baseline "
        "measured in the same run, and a ratio above 1 means Earmark is better.", "",
        f"- Command: `{info['command']}`",
        f"- Mode: {mode}",
        f"- Run: {info['started_utc']}, {info['elapsed_s'] / 60:.1f} min",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {memory} memory, {m['os']}",
        f"- Load average at the end (1/5/15 min): {m.get('load_average')} - the machine is shared; "
        "absolute times are noisy, the ratios are what the run compares",
        f"- GPU: {info['gpu']['name'] if info['gpu']['available'] else 'none (no GPU was lent to this run)'}",
        "- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "",
    ]


def _summary_lines(results: dict[str, dict]) -> list[str]:
    lines = ["## Summary", "", "| target | measured | met |", "|---|---|---|"]
    for what, measured, met in summary(results):
        lines.append(f"| {what} | {measured} | {'yes' if met else ('**no**' if met is False else '-')} |")
    return lines + [""]


def _section(name: str, result: dict, images: dict[str, str]) -> list[str]:
    lines = [f"## {result.get('title', name)}", ""]
    if result.get("error"):
        return lines + [f"Failed: {result['error']}", ""]
    if result.get("rows"):
        lines += rows_table(result["rows"]) + [""]
    live = result.get("live")
    if live:
        lines += ["Live classification of the shipped model "
                  f"(`{live['model']}`{'' if live.get('shipped') else ', a fresh export'}):", "",
                  "| block-to-label p50 | p95 | max | real-time factor (median / p95) | CPU s per s of audio |",
                  "|---|---|---|---|---|",
                  f"| {live['p50_s'] * 1000:.1f} ms | {live['p95_s'] * 1000:.1f} ms | {live['max_s'] * 1000:.1f} ms "
                  f"| {live['rtf_median']:.3f} / {live['rtf_p95']:.3f} | {live['cpu_s_per_audio_s']:.3f} |", ""]
    if live and live.get("session_variants"):
        lines += ["ONNX Runtime session options, same model and blocks:", "",
                  "| session | p50 | p95 | real-time factor (median) | CPU s per s of audio |", "|---|---|---|---|---|"]
        lines += [f"| {label} | {v['p50_s'] * 1000:.1f} ms | {v['p95_s'] * 1000:.1f} ms | {v['rtf_median']:.3f} "
                  f"| {v['cpu_s_per_audio_s']:.3f} |" for label, v in live["session_variants"].items()]
        lines += [""]
    if result.get("points"):
        lines += _points_table(result["points"]) + [""]
    lines += [f"- {note}" for note in result.get("notes", [])]
    if name in images:
        lines += ["", f"![{name}]({images[name]})"]
    known = {"name", "title", "rows", "notes", "extra", "gpu", "live", "points", "fits", "error"}
    rest = {k: v for k, v in result.items() if k not in known}
    if rest and not result.get("rows"):
        lines += ["", "```json", json.dumps(rest, indent=1, default=_json_default)[:4000], "```"]
    return lines + [""]


def _points_table(points: list[dict]) -> list[str]:
    lines = ["| clips | items | preparation | per clip | epoch | cache on disk | memory growth (prep / epoch) |",
             "|---|---|---|---|---|---|---|"]
    for p in points:
        lines.append(f"| {p['clips']} | {p['items']} | {p['prep_s']:.1f} s | {p['prep_s'] / p['clips'] * 1000:.0f} ms "
                     f"| {p['epoch_s'] * 1000:.0f} ms | {p['cache_bytes'] / 2**20:.1f} MiB "
                     f"| {p['prep_rss_growth_bytes'] / 2**20:.1f} / {p['epoch_rss_growth_bytes'] / 2**20:.1f} MiB |")
    return lines


def _gpu_lines(results: dict[str, dict], gpu: dict) -> list[str]:
    lines = ["## GPU", ""]
    train = results.get("train", {}).get("gpu") or {}
    if not gpu["available"] or not train.get("available"):
        lines += ["**No GPU was lent to this run.** The GPU figures below are empty. The GPU code path "
                  "(autocast, channels-last, pinned memory, non-blocking copies) is exercised on the CPU by "
                  "`tests/bench/test_bench_smoke.py` (bfloat16 autocast on the CPU).", "",
                  "| figure | Earmark | baseline | ratio | target | met |", "|---|---|---|---|---|---|",
                  "| mixed precision + channels-last vs. fp32 (samples/s) | - | - | - | | |",
                  "| end-to-end vs. tensors already on the GPU | - | - | - | >= 0.9x | |",
                  "| ResNet-18: Earmark vs. PNG pipeline on the GPU | - | - | - | | |", ""]
        return lines
    lines += [f"Device: {train['device_name']}", ""] + rows_table(train["rows"]) + [""]
    return lines


def _atomic_text(path: Path, text: str) -> None:
    try:
        from engine.atomic import atomic_write_text
    except ImportError:  # pragma: no cover - the engine is always there in this repo
        path.write_text(text, encoding="utf-8")
        return
    atomic_write_text(path, text)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
