"""A real 2-process gloo job through torchrun: both ranks must end with identical weights."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

JOB = Path(__file__).with_name("ddp_toy_job.py")


@pytest.mark.ddp
@pytest.mark.slow
def test_two_rank_gloo_job_ends_with_identical_weights(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    proc = subprocess.run(
        [*cmd, str(JOB), str(tmp_path)], env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rank0 = load_file(str(tmp_path / "rank0.safetensors"))
    rank1 = load_file(str(tmp_path / "rank1.safetensors"))
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=key)
    # the queue saw the gathered batches of both ranks: 6 steps x 2 ranks x 8 = 96 >= 32
    assert int(rank0["queue.filled"]) == 32
    # weights moved away from the seeded initialisation
    torch.manual_seed(0)
    init = torch.nn.Linear(8, 16).weight
    assert not torch.allclose(rank0["encoder.0.weight"], init)
    assert (tmp_path / "run" / "last" / "model.safetensors").is_file()
    assert (tmp_path / "run" / "metrics.jsonl").read_text().count("\n") == 3
