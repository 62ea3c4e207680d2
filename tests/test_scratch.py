"""The NumPy RNN's hand-written BPTT equals torch autograd and central finite differences (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.models import scratch


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), 1e-12))


def setup(bias: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = scratch.init_params(5, 7, 4, rng, bias)
    for name in params:  # non-zero biases, so that their gradients are checked for real
        params[name] = params[name] + 0.1 * rng.standard_normal(params[name].shape)
    x = rng.standard_normal((3, 6, 5))
    targets = rng.integers(0, 4, (3, 6))
    return params, x, targets


def autograd_reference(params: dict, x: np.ndarray, targets: np.ndarray) -> tuple[float, dict]:
    """The same RNN written with torch ops, differentiated by autograd."""
    w = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xs = torch.tensor(x)
    h = torch.zeros(x.shape[0], w["W_hh"].shape[0], dtype=torch.float64)
    outputs = []
    for t in range(x.shape[1]):
        h = torch.tanh(xs[:, t] @ w["W_xh"] + h @ w["W_hh"] + (w["b_h"] if "b_h" in w else 0))
        outputs.append(h @ w["W_hy"] + (w["b_y"] if "b_y" in w else 0))
    y = torch.stack(outputs, 1)
    loss = torch.nn.functional.cross_entropy(y.reshape(-1, y.shape[-1]), torch.tensor(targets).reshape(-1))
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in w.items()}


@pytest.mark.parametrize("bias", [True, False])
def test_bptt_equals_autograd(bias):
    params, x, targets = setup(bias)
    loss, grads = scratch.loss_and_gradients(params, x, targets)
    ref_loss, ref_grads = autograd_reference(params, x, targets)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    assert (
        set(grads) == set(ref_grads) == ({"W_xh", "W_hh", "b_h", "W_hy", "b_y"} if bias else {"W_xh", "W_hh", "W_hy"})
    )
    for name in grads:
        assert relative_error(grads[name], ref_grads[name]) < 1e-6, name


@pytest.mark.parametrize("bias", [True, False])
def test_bptt_equals_central_finite_differences(bias):
    params, x, targets = setup(bias, seed=1)
    _, grads = scratch.loss_and_gradients(params, x, targets)
    eps = 1e-6
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            keep = value[index]
            value[index] = keep + eps
            plus, _ = scratch.loss_and_gradients(params, x, targets)
            value[index] = keep - eps
            minus, _ = scratch.loss_and_gradients(params, x, targets)
            value[index] = keep
            numeric[index] = (plus - minus) / (2 * eps)
        assert relative_error(grads[name], numeric) < 1e-6, name


def test_the_torch_module_passes_gradients_through_the_hand_written_backward():
    torch.manual_seed(0)
    model = scratch.ScratchRNN(input_size=5, output_size=4, per_step=True, hidden_size=7, seed=0)
    x = torch.randn(3, 6, 5)
    targets = torch.randint(0, 4, (3, 6))
    loss = torch.nn.functional.cross_entropy(model(x, torch.full((3,), 6)).reshape(-1, 4), targets.reshape(-1))
    loss.backward()
    params = {k: v.detach().numpy().copy() for k, v in model.weights.items()}
    _, ref = scratch.loss_and_gradients(params, x.double().numpy(), targets.numpy())
    for name, parameter in model.weights.items():
        assert relative_error(parameter.grad.numpy(), ref[name]) < 1e-5, name  # outputs pass through float32


def test_standalone_training_with_clip_and_adagrad_learns_a_word():
    text = "hello world"
    vocab = sorted(set(text))
    codes = np.array([vocab.index(c) for c in text])
    x = np.eye(len(vocab))[codes[:-1]][None]
    targets = codes[1:][None]
    params = scratch.init_params(len(vocab), 20, len(vocab), np.random.default_rng(0))
    memory: dict = {}
    first, _ = scratch.loss_and_gradients(params, x, targets)
    for _ in range(300):
        loss, grads = scratch.loss_and_gradients(params, x, targets)
        scratch.clip(grads, 5.0)
        scratch.adagrad(params, grads, memory, lr=0.1)
    assert loss < 0.05 * first
    y, _ = scratch.forward(params, x)
    assert "".join(vocab[i] for i in y[0].argmax(-1)) == text[1:]


def test_sgd_step_moves_against_the_gradient():
    params = {"W": np.array([1.0, -2.0])}
    scratch.sgd(params, {"W": np.array([0.5, -0.5])}, lr=0.1)
    np.testing.assert_allclose(params["W"], [0.95, -1.95])


def test_per_sequence_tasks_are_refused():
    with pytest.raises(ConfigError, match="per-step task"):
        scratch.ScratchRNN(input_size=3, output_size=2, per_step=False)
