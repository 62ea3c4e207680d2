"""model=mingru (Feng et al. 2024): the log-space scan equals the step-by-step recurrence, padding never reaches a
readout, and it trains through the runner like any model (the same _target_ path a user's model takes)."""

from __future__ import annotations

import torch

from rnnlab.models.mingru import MinGRUNet, log_space_scan
from rnnlab.runner.run import run


def test_the_scan_is_the_recurrence():
    torch.manual_seed(0)
    a, b = torch.rand(3, 50, 4) * 0.98 + 0.01, torch.rand(3, 50, 4) + 0.01
    h, expected = torch.zeros(3, 4), []
    for t in range(50):
        h = a[:, t] * h + b[:, t]
        expected.append(h)
    assert torch.allclose(log_space_scan(a.log(), b.log()), torch.stack(expected, 1), rtol=1e-5, atol=1e-6)


def test_parallel_and_step_modes_agree_and_a_step_continues_from_its_state():
    torch.manual_seed(0)
    model = MinGRUNet(input_size=3, output_size=4, per_step=True, hidden_size=8, num_layers=2).eval()
    x = torch.randn(5, 40, 3)
    whole = model(x, torch.full((5,), 40))
    first, state = model.step(x[:, :17])
    rest, _ = model.step(x[:, 17:], state)
    assert (torch.cat([first, rest], 1) - whole).abs().max() < 1e-5


def test_padding_after_a_sequence_never_reaches_its_readout():
    torch.manual_seed(0)
    model = MinGRUNet(input_size=3, output_size=2, per_step=False, hidden_size=8).eval()
    x = torch.randn(2, 12, 3)
    padded = torch.cat([x[:, :7], torch.randn(2, 5, 3) * 100], 1)  # sequence 0 is 7 steps long, then garbage
    out = model(padded, torch.tensor([7, 12]))
    assert torch.allclose(out[0], model(x[:1, :7], torch.tensor([7]))[0], atol=1e-6)


def test_mingru_learns_index_recall_through_the_runner(tiny_config, tmp_path):
    report = run(tiny_config("task=index_recall", "model=mingru", "trainer.max_steps=200"), tmp_path)
    assert report["model"] == "mingru" and report["setup"]["model"]["hidden_size"] == 64
    assert report["test"]["acc"] > 0.3  # chance is 0.1
