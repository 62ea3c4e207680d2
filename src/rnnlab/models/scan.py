"""The linear recurrence h_t = a_t * h_{t-1} + b_t (elementwise) that minGRU, minLSTM and the LRU are built on.

    h = linear_scan(a, b)              # (n, steps, size), real or complex; h_0 = 0 unless h0 is given
    h = log_space_scan(log_a, log_b)   # the same for a, b > 0 given as logs (Heinsen 2023; the minGRU paper's code)

Why a loop and a hand-written backward rather than a parallel scan: on a CPU the parallel forms do more work than the
loop, and the work, not the depth, is what costs. At 128 x 784 x 128, forward and backward of one layer on Zen 3
(scripts/bench_scan.py): this function 0.18 s on one thread and 0.17 s on two, a loop that autograd differentiates
0.24 s and 0.16 s, the log-space scan of the minGRU paper's code 4.9 s and 1.6 s. The backward is the same
recurrence run in reverse (the adjoint: g_t = dL/dh_t + a_{t+1} g_{t+1}), so autograd keeps no graph of `steps`
nodes, and it serves complex inputs (the LRU) with the conjugates PyTorch's complex autograd expects.
"""

from __future__ import annotations

import torch
from torch import Tensor


class _LinearScan(torch.autograd.Function):
    # (n, steps, size) throughout: writing each step into a slice of one tensor (out=) measured faster than a list
    # and a stack, and than a time-first copy (88 / 141 / 181 ms forward at 128 x 784 x 128, one thread)
    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
        h = torch.empty_like(b)
        prev = h0
        for t in range(b.shape[1]):
            prev = torch.addcmul(b[:, t], a[:, t], prev, out=h[:, t])
        ctx.save_for_backward(a, h, h0)
        return h

    @staticmethod
    def backward(ctx, grad_h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        a, h, h0 = ctx.saved_tensors
        a_conj = a.conj()
        grad_b = torch.empty_like(grad_h)
        carry = grad_b[:, -1].copy_(grad_h[:, -1])
        for t in range(grad_h.shape[1] - 2, -1, -1):
            carry = torch.addcmul(grad_h[:, t], a_conj[:, t + 1], carry, out=grad_b[:, t])
        grad_a = torch.empty_like(grad_b)
        torch.mul(grad_b[:, 1:], h[:, :-1].conj(), out=grad_a[:, 1:])
        torch.mul(grad_b[:, 0], h0.conj(), out=grad_a[:, 0])
        return grad_a, grad_b, a_conj[:, 0] * grad_b[:, 0]


@torch.compiler.disable  # torch.compile fuses the work around the scan; tracing its loop would unroll 784 steps
def linear_scan(a: Tensor, b: Tensor, h0: Tensor | None = None) -> Tensor:
    """h_t = a_t * h_{t-1} + b_t over dim 1 of (n, steps, size) tensors; `a` may broadcast against `b` (an LRU's
    time-invariant a is (size,)). Differentiable in a, b and h0."""
    if h0 is None:
        h0 = b.new_zeros(b.shape[0], b.shape[2])
    return _LinearScan.apply(a.expand_as(b), b, h0.expand_as(b[:, 0]))


def log_space_scan(log_a: Tensor, log_b: Tensor) -> Tensor:
    """h_t = a_t h_{t-1} + b_t over dim 1 from h_0 = 0, for a, b > 0 given as logs (Heinsen's parallel scan)."""
    a_star = torch.cumsum(log_a, dim=1)
    return torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))
