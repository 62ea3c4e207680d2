"""The models of the residual stack (models/residual.py): mingru, minlstm, lru, s6 (the modern recurrent models) and
transformer (the attention reference in the same blocks): the scan is the recurrence and differentiates like it,
the whole-sequence and step modes give the same numbers, padding never reaches a readout
(forwards or, bidirectional, backwards), and each trains through the runner like any model."""

from __future__ import annotations

import pytest
import torch

from rnnlab.models.lru import LRUNet
from rnnlab.models.mingru import MinGRUNet
from rnnlab.models.minlstm import MinLSTMNet
from rnnlab.models.residual import reverse_within
from rnnlab.models.s6 import S6Net
from rnnlab.models.scan import linear_scan, log_space_scan
from rnnlab.models.selective_scan import selective_scan
from rnnlab.models.transformer import TransformerNet, rotate
from rnnlab.runner.run import run

MODELS = [MinGRUNet, MinLSTMNet, LRUNet, S6Net, TransformerNet]


def loop(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    h, out = torch.zeros_like(b[:, 0]), []
    for t in range(b.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, 1)


def test_the_scans_are_the_recurrence_real_and_complex():
    torch.manual_seed(0)
    a, b = torch.rand(3, 50, 4) * 0.98 + 0.01, torch.rand(3, 50, 4) + 0.01
    assert torch.allclose(linear_scan(a, b), loop(a, b), atol=1e-6)
    assert torch.allclose(log_space_scan(a.log(), b.log()), loop(a, b), rtol=1e-5, atol=1e-6)
    decay = torch.polar(torch.rand(4) * 0.99, torch.rand(4) * 6)  # time-invariant and complex, as the LRU's
    bc = torch.randn(3, 50, 4, dtype=torch.cfloat)
    assert torch.allclose(linear_scan(decay, bc), loop(decay.expand_as(bc), bc), atol=1e-5)


def test_the_scans_hand_written_backward_is_the_gradient():
    torch.manual_seed(0)
    a, b = torch.rand(2, 6, 3, dtype=torch.double), torch.randn(2, 6, 3, dtype=torch.double)
    h0 = torch.randn(2, 3, dtype=torch.double)
    assert torch.autograd.gradcheck(linear_scan, (a.requires_grad_(), b.requires_grad_(), h0.requires_grad_()))
    decay = (torch.randn(3, dtype=torch.cdouble) * 0.5).requires_grad_()
    bc = torch.randn(2, 6, 3, dtype=torch.cdouble, requires_grad=True)
    assert torch.autograd.gradcheck(linear_scan, (decay, bc))


def _selective_inputs(dtype):
    torch.manual_seed(0)
    n, steps, inner, states = 2, 7, 5, 4
    return [
        torch.randn(n, steps, inner, dtype=dtype),  # u
        torch.rand(n, steps, inner, dtype=dtype) * 0.5,  # dt
        -torch.rand(inner, states, dtype=dtype) - 0.1,  # A
        torch.randn(n, steps, states, dtype=dtype),  # B
        torch.randn(n, steps, states, dtype=dtype),  # C
    ]


def test_the_selective_scan_is_s6s_recurrence_and_its_backward_the_gradient():
    u, dt, A, B, C = _selective_inputs(torch.double)
    h, expected = torch.zeros(2, 5, 4, dtype=torch.double), []
    for t in range(7):  # Mamba's selective_scan_ref, step by step
        h = torch.exp(dt[:, t, :, None] * A) * h + (dt[:, t] * u[:, t])[..., None] * B[:, t, None, :]
        expected.append((h * C[:, t, None, :]).sum(-1))
    assert torch.allclose(selective_scan(u, dt, A, B, C), torch.stack(expected, 1), atol=1e-12)
    inputs = [x.requires_grad_() for x in (u, dt, A, B, C)]
    assert torch.autograd.gradcheck(selective_scan, inputs)


def test_the_selective_scan_stays_float32_under_bf16_autocast():
    inputs = [x.requires_grad_() for x in _selective_inputs(torch.float32)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = selective_scan(*inputs)
        y.sum().backward()
    assert y.dtype == torch.float32 and all(x.grad.dtype == torch.float32 for x in inputs)
    assert torch.allclose(y, selective_scan(*[x.detach() for x in inputs]))


@pytest.mark.parametrize("cls", MODELS)
def test_parallel_and_step_modes_agree_and_a_step_continues_from_its_state(cls):
    torch.manual_seed(0)
    model = cls(input_size=3, output_size=4, per_step=True, hidden_size=8, num_layers=2).eval()
    x = torch.randn(5, 40, 3)
    whole = model(x, torch.full((5,), 40))
    first, state = model.step(x[:, :17])
    rest, _ = model.step(x[:, 17:], state)
    assert (torch.cat([first, rest], 1) - whole).abs().max() < 1e-5


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_after_a_sequence_never_reaches_its_readout(cls, bidirectional):
    torch.manual_seed(0)
    model = cls(input_size=3, output_size=2, per_step=False, hidden_size=8, bidirectional=bidirectional).eval()
    x = torch.randn(2, 12, 3)
    padded = torch.cat([x[:, :7], torch.randn(2, 5, 3) * 100], 1)  # sequence 0 is 7 steps long, then garbage
    out = model(padded, torch.tensor([7, 12]))
    assert torch.allclose(out[0], model(x[:1, :7], torch.tensor([7]))[0], atol=1e-5)


@pytest.mark.parametrize("cls", MODELS)
def test_bidirectional_reads_later_steps_and_causal_does_not(cls):
    torch.manual_seed(0)
    x = torch.randn(1, 10, 3)
    later = x.clone()
    later[:, -1] += 1  # only the last step changes
    for bidirectional in (False, True):
        model = cls(input_size=3, output_size=2, per_step=True, hidden_size=8, bidirectional=bidirectional).eval()
        moved = (model(later, torch.tensor([10]))[0, 0] - model(x, torch.tensor([10]))[0, 0]).abs().max()
        assert (moved > 1e-6) == bidirectional  # causal: exactly the same numbers (S6 at init moves ~1e-5)


def test_reversing_within_lengths_leaves_padding_where_it_is():
    x = torch.arange(6.0).view(1, 6, 1).repeat(2, 1, 1)
    flipped = reverse_within(x, torch.tensor([4, 6]))
    assert flipped[0, :, 0].tolist() == [3, 2, 1, 0, 4, 5] and flipped[1, :, 0].tolist() == [5, 4, 3, 2, 1, 0]
    assert torch.equal(reverse_within(flipped, torch.tensor([4, 6])), x)


@pytest.mark.parametrize("cls", MODELS)
@pytest.mark.parametrize("attention,heads", [("additive", 2), ("mean", 1)])
def test_attention_pools_over_true_steps_and_bf16_autocast_runs(cls, attention, heads):
    torch.manual_seed(0)
    model = cls(input_size=3, output_size=2, per_step=False, hidden_size=8, attention=attention, attention_heads=2)
    out = model(torch.randn(2, 9, 3), torch.tensor([5, 9]))
    assert out.shape == (2, 2) and model.last_attention.shape[:2] == (2, heads)
    assert model.last_attention[0, :, 5:].abs().max() == 0  # padding gets no weight
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(torch.randn(2, 9, 3), torch.tensor([5, 9]))
    out.float().sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)


def test_a_step_is_refused_where_it_means_nothing():
    with pytest.raises(ValueError, match="causal model with per-step outputs"):
        MinGRUNet(3, 2, per_step=True, bidirectional=True).step(torch.randn(1, 2, 3))


@pytest.mark.parametrize(
    "model",
    [
        "mingru",
        pytest.param("minlstm", marks=pytest.mark.slow),
        pytest.param("lru", marks=pytest.mark.slow),
        pytest.param("s6", marks=pytest.mark.slow),
        pytest.param("transformer", marks=pytest.mark.slow),
    ],
)  # make test keeps one: 3 minutes
def test_each_learns_index_recall_through_the_runner(tiny_config, tmp_path, model):
    report = run(tiny_config("task=index_recall", f"model={model}", "trainer.max_steps=200"), tmp_path)
    assert report["model"] == model and report["setup"]["model"]["hidden_size"] == 64
    assert report["test"]["acc"] > 0.3, report["test"]  # chance is 0.1


@pytest.mark.slow  # three short runs: ~10 s
def test_a_complex_state_model_resumes_exactly_and_is_re_tested_from_its_checkpoint(tiny_config, tmp_path):
    """The LRU's complex parameters through checkpoints: 15 steps then resume=true to 30 equals 30 at once, and
    rnnlab-eval's code path gives the run's own test numbers back."""
    from rnnlab.runner.evaluate import evaluate_checkpoint
    from rnnlab.training.checkpoints import load_checkpoint

    setting = ("task=index_recall", "model=lru", "model.hidden_size=8", "scheduler=constant")
    whole = run(tiny_config(*setting, "trainer.max_steps=30"), tmp_path / "whole")
    run(tiny_config(*setting, "trainer.max_steps=15"), tmp_path / "split")
    resumed = run(tiny_config(*setting, "trainer.max_steps=30", "resume=true"), tmp_path / "split")
    assert resumed["train"]["steps"] == 30 and resumed["test"] == whole["test"]
    saved = [load_checkpoint(tmp_path / d)["model"] for d in ("whole", "split")]
    assert all(torch.equal(saved[0][name], saved[1][name]) for name in saved[0])
    again = evaluate_checkpoint(tmp_path / "whole" / "last.pt", [], tmp_path / "eval")
    assert again["test"] == whole["test"]


def test_a_model_that_holds_much_per_step_is_evaluated_in_smaller_chunks_and_fits_the_memory_check():
    """S6 at 784 steps and width 128 holds ~88 MB a sequence: 1,000 at once would need ~88 GB."""
    from rnnlab.runner.memory import VALIDATION_SET, needs
    from rnnlab.tasks.selective_copy import SelectiveCopy
    from rnnlab.training.evaluate import EVAL_CHUNK, eval_chunk

    s6 = S6Net(1, 10, False, hidden_size=128)
    assert 1 <= eval_chunk(s6, 784) < 100 and eval_chunk(s6, 10) == EVAL_CHUNK
    assert eval_chunk(torch.nn.LSTM(1, 8), 784) == EVAL_CHUNK  # a model that does not say: as before
    x, lengths = torch.randn(5, 30, 1), torch.full((5,), 30)
    assert torch.allclose(s6.eval()(x[:2], lengths[:2]), s6(x, lengths)[:2], atol=1e-5)  # chunks change nothing
    task = SelectiveCopy(length=784, val_size=1000, test_size=10, stop_window=0)
    assert needs(task, s6, 8, 32)[VALIDATION_SET] < 8e9  # was ~88 GB with 1,000 sequences a pass: refused


def test_rotary_positions_make_attention_depend_on_distance_not_on_where_it_starts():
    """RoPE: the score of a query at position i and a key at j depends on i - j alone, and position 0 is unturned."""
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
    score = lambda i, j: (rotate(q, i) * rotate(k, j)).sum()  # noqa: E731
    assert torch.allclose(score(5, 2), score(13, 10), atol=1e-5) and not torch.allclose(score(5, 2), score(5, 4))
    assert torch.equal(rotate(q, 0), q)


def test_the_transformer_takes_any_width_and_recalls_through_attention_alone():
    """Widths that the heads do not divide still build (model.params picks any width); with no MLP and one layer,
    a per-step output still depends on an earlier step through attention."""
    model = TransformerNet(
        input_size=3, output_size=2, per_step=True, hidden_size=13, num_layers=1, heads=4, mlp_ratio=0
    ).eval()
    x = torch.randn(1, 6, 3)
    earlier = x.clone()
    earlier[:, 0] += 1
    assert (model(earlier, torch.tensor([6]))[0, 5] - model(x, torch.tensor([6]))[0, 5]).abs().max() > 1e-4
