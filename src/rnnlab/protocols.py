"""What a model may have beyond forward(x, lengths), declared once: rnnlab asks for these members here and nowhere
else, and uses each where a model has it (docs/extending.md says what each is for).

    floats = member(model, "floats_per_step")      # the bound method, or None where the model has none

A task's optional hooks have their defaults on rnnlab.Task itself (tasks/base.py): headline_length,
train_lengths, length_label, floor, reference, relevant_steps, report_extras ...
"""

from __future__ import annotations

from typing import Any, Protocol


class OptionalModelMembers(Protocol):
    """A model's optional members. None is required: each has a default behaviour where a model lacks it."""

    name: str  # its name in reports (default: the class name in lower case)
    width_key: str  # the key model.params sizes (default: hidden_size)
    attention: Any  # its pooling module, whose weights the attention figure draws (default: none)

    def floats_per_step(self) -> int:
        """Floats one sequence keeps per step for backpropagation (default: measured on the meta device)."""
        ...

    def optimizer_groups(self) -> list[dict[str, Any]]:
        """Parameters at their own lr_scale / weight_decay (default: one group; training/param_groups.py)."""
        ...

    def step(self, x: Any, state: Any = None) -> tuple[Any, Any]:
        """Per-step outputs from a state, for generation (default: the sequence so far read again)."""
        ...


DECLARED = frozenset(n for n in ("name", "width_key", "attention", "floats_per_step", "optimizer_groups", "step"))


def member(model: Any, name: str, default: Any = None) -> Any:
    """The model's (or model class's) optional member `name`, or `default` where it has none."""
    if name not in DECLARED:
        raise AttributeError(f"{name} is not an optional model member (rnnlab.protocols.OptionalModelMembers)")
    return getattr(model, name, default)
