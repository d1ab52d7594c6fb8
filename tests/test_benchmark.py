"""The benchmark measures every model interleaved and writes every field to RUN/bench.json."""

from __future__ import annotations

import json

from tests.tiny_run import make_tiny_run
from workbench.core.measure.benchmark import benchmark_run, time_by_runtime, time_interleaved

MODELS = {"teacher-torch-fp32", "teacher-onnx-fp32", "teacher-onnx-int8", "student-torch-fp32",
          "student-onnx-fused-fp32", "student-onnx-int8"}


def test_bench_json_has_every_model_and_field(tiny_csv, tmp_path):
    run = make_tiny_run(tmp_path / "run", tiny_csv)  # no ONNX yet: the benchmark exports first
    benchmark_run(run, threads=1, batches=(1, 2), seq_lens=(8, 16), repeats=2, warmup=1)
    bench = json.loads((run / "bench.json").read_text())
    assert bench["threads"] == 1 and bench["threads_detail"]["ort.session.force_spinning_stop"] == "1"
    assert "VmHWM" in bench["memory_method"]
    assert set(bench["models"]) == MODELS
    for name, model in bench["models"].items():
        assert model["size_bytes"] > 0 and model["peak_memory_bytes"] is not None, name
        assert set(model["test"]) == {"accuracy", "macro_f1", "examples"} and model["test"]["examples"] == 24
        shapes = {(entry["batch"], entry["seq_len"]) for entry in model["latency"]}
        assert shapes == {(1, 8), (1, 16), (2, 8), (2, 16)}, name
        for entry in model["latency"]:
            assert 0 < entry["median_ms"] <= entry["p95_ms"] and entry["throughput_per_s"] > 0
            assert entry["runs"] == 2


def test_rounds_are_interleaved_and_rotate():
    order: list[str] = []
    calls = {name: (lambda name=name: order.append(name)) for name in "abc"}
    seconds = time_interleaved(calls, repeats=3, warmup=0)
    assert order == list("abcbcacab")
    assert all(len(times) == 3 for times in seconds.values())


def test_each_runtime_is_timed_in_its_own_rounds_onnx_runtime_first():
    order: list[str] = []
    calls = {name: (lambda name=name: order.append(name)) for name in ("torch-a", "ort-b", "torch-c", "ort-d")}
    runtimes = {name: "torch" if name.startswith("torch") else "onnxruntime" for name in calls}
    seconds = time_by_runtime(calls, runtimes, repeats=2, warmup=0)
    assert order == ["ort-b", "ort-d", "ort-d", "ort-b", "torch-a", "torch-c", "torch-c", "torch-a"]
    assert list(seconds) == list(calls) and all(len(times) == 2 for times in seconds.values())


def test_bench_command_prints_every_model(tiny_csv, tmp_path, capsys):
    from workbench.cli import main

    run = make_tiny_run(tmp_path / "run", tiny_csv)
    assert main(["bench", str(run), "--threads", "1", "--batches", "1", "--seq-lens", "16", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert "median ms" in out
    assert all(f"{name} " in out for name in MODELS)


def cpu_samples(other_share: float, steal_share: float = 0.0):
    """Two CPU samples 10 s apart on 2 cores: this process busy 1 s, others `other_share` of the machine."""
    from workbench.core.measure.machine_load import CpuSample

    total = 20.0
    others, steal = other_share * total, steal_share * total
    return [CpuSample(0.0, 100.0, 5.0, 1000.0, 3.0),
            CpuSample(10.0, 100.0 + 1.0 + others, 5.0 + steal, 1000.0 + total, 4.0)]


def test_a_quiet_machine_with_steady_timings_is_not_noisy():
    from workbench.core.measure.machine_load import load_between

    load = load_between(*cpu_samples(0.05), [{"cv": 0.03}, {"cv": 0.05}, {"cv": 0.4}])
    assert not load["noisy"] and load["other_cpu"] == 0.05 and load["reason"] == ""


def test_other_processes_steal_or_spread_make_the_figures_noisy_and_say_why():
    from workbench.core.measure.machine_load import load_between

    busy = load_between(*cpu_samples(0.6), [{"cv": 0.03}])
    assert busy["noisy"] and busy["reason"] == "other processes used 60% of the CPUs"
    assert "took 10% of CPU time (steal)" in load_between(*cpu_samples(0.0, 0.1), [{"cv": 0.03}])["reason"]
    assert "varied by 35% from round to round" in load_between(*cpu_samples(0.0), [{"cv": 0.35}])["reason"]


def test_bench_beside_a_busy_machine_marks_its_figures_noisy_in_bench_json_cli_and_flags(tiny_csv, tmp_path, capsys,
                                                                                        monkeypatch):
    from workbench.cli import main
    from workbench.core.measure import machine_load
    from workbench.core.run_folder import RunFolder
    from workbench.core.run_summary import run_flags

    readings = iter(cpu_samples(0.8))  # the injected load reading: a CPU hog beside the benchmark
    monkeypatch.setattr(machine_load, "sample", lambda: next(readings))
    run = make_tiny_run(tmp_path / "run", tiny_csv)
    assert main(["bench", str(run), "--threads", "1", "--batches", "1", "--seq-lens", "16", "--repeats", "2"]) == 0
    assert "⚠ noisy: the machine was busy (other processes used 80% of the CPUs" in capsys.readouterr().out
    bench = json.loads((run / "bench.json").read_text())
    assert bench["load"]["noisy"] and "CPUs" in bench["machine"]["hardware"]
    assert all({"cv", "p95_over_median"} <= set(e) for m in bench["models"].values() for e in m["latency"])
    assert any("rerun `workbench bench`" in flag for flag in run_flags(RunFolder(run)))
