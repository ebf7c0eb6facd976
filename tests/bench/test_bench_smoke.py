"""Smoke runs of every benchmark at tiny sizes (so they cannot rot), the PNG baseline's
output, the meters the report relies on, and the GPU code path run on the CPU."""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
import torch
from PIL import Image

from bench import png_pipeline, workspace


@pytest.fixture(scope="module")
def tiny_bench(tmp_path_factory):
    """Tiny sizes and a private scratch folder for the benchmarks of this module."""
    saved = {k: os.environ.get(k) for k in ("EARMARK_BENCH_TINY", "EARMARK_BENCH_WORK")}
    os.environ["EARMARK_BENCH_TINY"] = "1"
    os.environ["EARMARK_BENCH_WORK"] = str(tmp_path_factory.mktemp("bench_work"))
    workspace.work_root.cache_clear()
    workspace.synthetic_esc50.cache_clear()
    workspace._PREPARED.clear()
    torch.set_num_threads(2)
    yield workspace.sizes(True)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    workspace.work_root.cache_clear()
    workspace.synthetic_esc50.cache_clear()
    workspace._PREPARED.clear()


def _check_rows(result: dict, name: str) -> None:
    assert result["name"] == name
    assert result["rows"], result
    for r in result["rows"]:
        assert {"figure", "earmark", "baseline", "unit", "ratio"} <= set(r)
        if r["earmark"] is not None and r["baseline"] is not None:
            assert r["earmark"] > 0 and r["baseline"] > 0 and r["ratio"] > 0


@pytest.mark.slow          # librosa's first pitch shift and time stretch compile with numba
def test_png_baseline_writes_six_224_rgb_pngs_per_clip_and_decodes_them(tmp_path):
    from engine.datasets.synth import write_esc50

    root = write_esc50(tmp_path / "esc", n_classes=2, clips_per_class=1, seconds=0.5, sample_rate_hz=16000)
    paths, labels = workspace.baseline_inputs(root)
    items = png_pipeline.prepare_dataset(paths, labels, tmp_path / "png", clip_s=0.5)
    assert len(items) == 2 * len(png_pipeline.VARIANTS)
    assert [it.variant for it in items[:6]] == list(png_pipeline.VARIANTS)
    for item in items:
        with Image.open(item.path) as image:
            assert image.size == (224, 224) and image.mode == "RGB"
    # the variants really differ from the original - except gain, which power_to_db(ref=np.max)
    # normalises away: the old pipeline stored an identical picture for it
    pixels = {it.variant: np.asarray(Image.open(it.path), dtype=np.int16) for it in items[:6]}
    for variant in ("noise", "pitch_shift", "time_stretch", "reverb"):
        assert np.abs(pixels[variant] - pixels["original"]).mean() > 0.5, variant
    assert np.abs(pixels["gain"] - pixels["original"]).mean() < 0.5
    x, label, index = png_pipeline.PngDataset(items)[3]
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32
    assert -3.0 < float(x.min()) and float(x.max()) < 3.0 and label == items[3].label and index == 3
    batch = next(iter(png_pipeline.png_loader(items, batch_size=4)))
    assert batch[0].shape == (4, 3, 224, 224)


def test_colormap_renderer_is_224_rgb_with_low_frequencies_at_the_bottom():
    db = np.full((128, 216), -80.0, dtype=np.float32)
    db[:10] = 0.0                                      # loud low-frequency band
    image = Image.open(io.BytesIO(png_pipeline.render_png(db, "colormap")))
    rgb = np.asarray(image.convert("RGB"), dtype=float)
    assert image.size == (224, 224)
    assert rgb[-5:].mean() > rgb[:5].mean() + 50       # bright rows are at the bottom
    with pytest.raises(ValueError, match="renderer"):
        png_pipeline.render_png(db, "jpeg")


def test_row_ratio_is_above_one_when_earmark_is_better():
    faster = workspace.row("t", 1.0, 5.0, "s", higher_is_better=False, target=5.0)
    assert faster["ratio"] == pytest.approx(5.0) and faster["meets"] is True
    slower = workspace.row("x", 2.0, 4.0, "samples/s", higher_is_better=True, target=1.0)
    assert slower["ratio"] == pytest.approx(0.5) and slower["meets"] is False
    assert workspace.row("n", None, 1.0, "s", higher_is_better=False)["ratio"] is None


def test_peak_memory_counts_allocations_but_not_memory_mapped_reads(tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.ones((64, 2**20 // 4), dtype=np.float32))      # 64 MiB
    with workspace.PeakMemory() as mapped:
        total = float(np.load(path, mmap_mode="r").sum(dtype=np.float64))
    assert total == 64 * 2**20 // 4
    with workspace.PeakMemory() as owned:
        block = np.ones(48 * 2**20, dtype=np.uint8)
        time.sleep(0.2)                                             # let the sampler see it
        del block
    assert mapped.growth_bytes < 16 * 2**20
    assert owned.growth_bytes > 40 * 2**20


def test_linear_fit_recovers_a_line():
    from bench.bench_scaling import linear_fit

    fit = linear_fit([10, 20, 40], [1.5, 2.5, 4.5])
    assert fit["slope"] == pytest.approx(0.1) and fit["intercept"] == pytest.approx(0.5)
    assert fit["r2"] == pytest.approx(1.0)


def test_gpu_code_path_runs_on_the_cpu_with_bfloat16_autocast_and_channels_last():
    from bench.bench_train import train_throughput

    generator = torch.Generator().manual_seed(0)
    batches = [(torch.randn(4, 1, 16, 24, generator=generator), torch.tensor([0, 1, 0, 1])) for _ in range(4)]
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
    before = [p.detach().clone() for p in model.parameters()]
    result = train_throughput(model, batches, device="cpu", amp=True, channels_last=True, steps=2, warmup=1)
    assert result["amp"] == "bfloat16" and result["channels_last"] is True
    assert result["samples"] == 8 and result["samples_per_s"] > 0 and np.isfinite(result["final_loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


@pytest.mark.slow
def test_prep_and_loading_benchmarks_run(tiny_bench):
    from bench import bench_loading, bench_prep

    prep = bench_prep.main(True)
    _check_rows(prep, "prep")
    assert prep["extra"]["items"] == 6 * tiny_bench.prep_clips
    assert prep["extra"]["cache_bytes"] > 0 and prep["extra"]["png_bytes"] > 0
    loading = bench_loading.main(True)
    _check_rows(loading, "loading")
    assert loading["extra"]["workers_0"]["earmark"]["samples"] == 6 * tiny_bench.prep_clips


@pytest.mark.slow
def test_train_benchmark_and_its_gpu_section_on_the_cpu(tiny_bench):
    from bench import bench_train

    result = bench_train.main(True)
    _check_rows(result, "train")
    if not torch.cuda.is_available():
        assert result["gpu"] == {"available": False, "device_name": None, "rows": []}
    prep = workspace.prepared(True)
    gpu = bench_train.gpu_section(prep, 1, 2, ("cnn",), 4, workers=0, device=torch.device("cpu"))
    assert gpu["available"] and gpu["device_name"] == "cpu"
    assert gpu["extra"]["amp_channels_last"]["cnn"]["end_to_end"]["amp"] == "bfloat16"
    assert gpu["extra"]["fp32"]["cnn"]["end_to_end"]["amp"] is None
    assert all(r["ratio"] > 0 for r in gpu["rows"])


@pytest.mark.slow
def test_inference_scaling_and_report(tiny_bench, tmp_path):
    from bench import bench_inference, bench_scaling, report

    inference = bench_inference.main(True)
    _check_rows(inference, "inference")
    live = inference["live"]
    assert live["labels"] == tiny_bench.live_blocks and 0 < live["p50_s"] <= live["p95_s"]
    assert live["cpu_s_per_audio_s"] > 0 and live["rtf_median"] > 0
    scaling = bench_scaling.main(True)
    assert [p["clips"] for p in scaling["points"]] == list(tiny_bench.scaling_clips)
    assert scaling["points"][-1]["cache_bytes"] > scaling["points"][0]["cache_bytes"]
    path = report.write_report({"inference": inference, "scaling": scaling, "odd": {"title": "Odd", "x": 1}},
                               quick=True, command="python -m bench --quick", started_utc="now", elapsed_s=1.0,
                               docs=tmp_path, errors={"broken": "RuntimeError: boom"})
    text = path.read_text()
    for expected in ("python -m bench --quick", "quick", "cores", "onnxruntime", "librosa", "torch",
                     "Block-to-label latency p95", "## 5. Scaling", "RuntimeError: boom", '"x": 1'):
        assert expected in text, expected
    if not torch.cuda.is_available():
        assert "No GPU was lent to this run" in text
    assert (tmp_path / "bench_scaling.png").stat().st_size > 1000
    assert (tmp_path / "bench_inference.png").is_file() and (tmp_path / "bench_results.json").is_file()
