"""Config schemas: the types, ranges and choices of every key (dataclasses in Hydra's ConfigStore).

Schemas hold types, not values: the values live in the YAML files alone. Each option file under conf/ names its
schema first in its defaults list, so Hydra checks types while it composes (``model.hidden_size=abc`` is refused
there) and keys that do not exist are refused too:

    # conf/model/lstm.yaml
    defaults:
      - /schema/model@_here_
      - _self_
    cell: lstm

Ranges and relations are checked by each schema's ``__post_init__``, which runs when ``config.validate(cfg)``
turns the composed config into dataclass objects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from rnnlab.config.run_schemas import ModelBudgetSchema, StudySchema, SweepSchema, check_params
from rnnlab.config.task_schemas import (
    AddingSchema,
    BinaryAdditionSchema,
    CharSequenceSchema,
    CopyMemorySchema,
    IndexRecallSchema,
    MNISTSchema,
    TemporalOrderSchema,
)
from rnnlab.errors import require, require_choice

__all__ = ["ModelBudgetSchema", "StudySchema", "SweepSchema"]  # defined beside the run's other keys

# ---------------------------------------------------------------------------------------------- model

CELLS = ("rnn", "lstm", "gru")
NONLINEARITIES = ("tanh", "relu")
ATTENTION = ("none", "additive", "dot", "mean", "inputs_only")
ATTENTION_ALIASES = {"report_input": "inputs_only"}  # the old name (after the course report it came from) still works


def attention_kind(value: str) -> str:
    """model.attention as one of ATTENTION: an old name becomes the current one."""
    return ATTENTION_ALIASES.get(value, value)


# One range rule per model key, for every model that has the key: the schemas check a config with them, and the
# residual models' constructors (typed from their signature, no schema of their own) a model built in Python.
MODEL_KEY_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "hidden_size": (lambda v: v >= 1, "an integer >= 1"),
    "num_layers": (lambda v: v >= 1, "an integer >= 1"),
    "mlp_ratio": (lambda v: v >= 0, "an integer >= 0 (0: no MLP)"),
    "dropout": (lambda v: 0 <= v < 1, "0 <= dropout < 1"),
    "attention": (lambda v: attention_kind(v) in ATTENTION, "choose one of " + ", ".join(ATTENTION)),
    "attention_heads": (lambda v: v >= 1, "an integer >= 1"),
}


def check_model_keys(prefix: str = "", **values: Any) -> None:
    """Each value against its key's rule, in the order given; `prefix` ("model.") where no schema names the group."""
    for key, value in values.items():
        allowed, expected = MODEL_KEY_RULES[key]
        require(allowed(value), f"{prefix}{key}", value, expected)


ATTENTION_QUERIES = ("learned", "final")
PRECISIONS = ("fp32", "bf16", "auto")  # trainer.precision (src/rnnlab/training/precision.py)


@dataclass
class ModelSchema:
    _target_: str = "rnnlab.models.recurrent.RecurrentNet"
    cell: str = MISSING
    hidden_size: int = MISSING
    num_layers: int = MISSING
    nonlinearity: str = "tanh"  # the rnn cell's; set in conf/model/rnn.yaml
    dropout: float = MISSING
    bidirectional: bool = MISSING
    attention: str = MISSING
    attention_heads: int = MISSING
    attention_query: str = MISSING  # additive attention's query: learned (per head) or final (from the final state)
    attention_null: bool = (
        MISSING  # additive, dot: each head may attend to an empty slot (src/rnnlab/models/attention.py)
    )
    # The initial forget-gate bias: a number (the lstm cell's; 0 for the others) or chrono (Tallec & Ollivier 2018:
    # drawn from the task's sequence length; lstm and gru). Each conf/model/<cell>.yaml sets its own.
    forget_bias: Any = MISSING
    params: int | None = None  # a parameter budget: the hidden size nearest it (runner/width.py)

    def __post_init__(self) -> None:
        check_params(self.params)
        require_choice("cell", self.cell, CELLS)
        check_model_keys(hidden_size=self.hidden_size, num_layers=self.num_layers)
        require_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)
        require(
            self.cell == "rnn" or self.nonlinearity == "tanh",
            "nonlinearity",
            self.nonlinearity,
            f"only the rnn cell takes relu; {self.cell} has its own gates (use model=rnn)",
        )
        chrono = self.forget_bias == "chrono"
        number = isinstance(self.forget_bias, (int, float)) and not isinstance(self.forget_bias, bool)
        require(
            chrono or (number and math.isfinite(self.forget_bias)),
            "forget_bias",
            self.forget_bias,
            "a finite number, or chrono",
        )
        require(
            self.cell in ("lstm", "gru") or not chrono,
            "forget_bias",
            self.forget_bias,
            f"chrono sets the gates of lstm and gru cells; {self.cell} has none (use model=lstm or model=gru)",
        )
        require(
            self.cell == "lstm" or chrono or self.forget_bias == 0,
            "forget_bias",
            self.forget_bias,
            f"only the lstm cell has a forget gate; {self.cell} takes none (use model=lstm, or forget_bias=chrono)",
        )
        check_model_keys(dropout=self.dropout, attention=self.attention, attention_heads=self.attention_heads)
        require_choice("attention_query", self.attention_query, ATTENTION_QUERIES)


@dataclass
class ScratchRNNSchema:
    _target_: str = "rnnlab.models.scratch.ScratchRNN"
    hidden_size: int = MISSING
    bias: bool = MISSING
    params: int | None = None

    def __post_init__(self) -> None:
        check_params(self.params)
        check_model_keys(hidden_size=self.hidden_size)


# ---------------------------------------------------------------------------------------------- loss


@dataclass
class LossSchema:
    _target_: str = MISSING


# ---------------------------------------------------------------------------------------------- optimizer


@dataclass
class OptimizerSchema:
    _target_: str = MISSING
    _partial_: bool = True  # the parameters come later: build(cfg.optimizer)(model.parameters())
    lr: float = MISSING
    weight_decay: float = MISSING

    def __post_init__(self) -> None:
        require(math.isfinite(self.lr) and self.lr > 0, "lr", self.lr, "a finite learning rate > 0")
        require(
            math.isfinite(self.weight_decay) and self.weight_decay >= 0,
            "weight_decay",
            self.weight_decay,
            "a finite L2 weight >= 0",
        )


@dataclass
class MomentumOptimizerSchema(OptimizerSchema):
    momentum: float = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        require(0 <= self.momentum < 1, "momentum", self.momentum, "0 <= momentum < 1")


@dataclass
class SchedulerSchema:
    _target_: str = MISSING
    _partial_: bool = True  # the optimizer comes later: build(cfg.scheduler)(optimizer)


@dataclass
class ConstantSchedulerSchema(SchedulerSchema):
    factor: float = MISSING  # the rate is optimizer.lr x factor for total_iters steps, then optimizer.lr
    total_iters: int = MISSING

    def __post_init__(self) -> None:
        require(0 < self.factor <= 1, "factor", self.factor, "a fraction of the learning rate, 0 < factor <= 1")
        require(self.total_iters >= 0, "total_iters", self.total_iters, "steps >= 0")


@dataclass
class CosineSchedulerSchema(SchedulerSchema):
    T_max: int = MISSING  # steps from optimizer.lr down to eta_min
    eta_min: float = MISSING

    def __post_init__(self) -> None:
        require(self.T_max >= 1, "T_max", self.T_max, "an integer >= 1 (steps)")
        require(
            math.isfinite(self.eta_min) and self.eta_min >= 0, "eta_min", self.eta_min, "a finite learning rate >= 0"
        )


@dataclass
class HoldCosineSchedulerSchema(SchedulerSchema):
    total_steps: int = MISSING
    warmup: float = MISSING  # fractions of total_steps
    hold: float = MISSING
    eta_min: float = MISSING

    def __post_init__(self) -> None:
        require(self.total_steps >= 1, "total_steps", self.total_steps, "an integer >= 1 (steps)")
        require(0 <= self.warmup <= 1, "warmup", self.warmup, "a fraction of the steps, 0..1")
        require(0 <= self.hold <= 1, "hold", self.hold, "a fraction of the steps, 0..1")
        require(self.warmup + self.hold <= 1, "hold", self.hold, "a fraction with warmup + hold <= 1")
        require(self.eta_min >= 0, "eta_min", self.eta_min, "a learning rate >= 0")


# ---------------------------------------------------------------------------------------------- trainer, logger


@dataclass
class TrainerSchema:
    batch_size: int = MISSING
    max_steps: int = MISSING
    eval_every: int = MISSING
    log_every: int = MISSING
    early_stop: bool = MISSING
    clip_grad_norm: float = MISSING  # 0 = no clipping
    checkpoint_every: int = MISSING  # steps between last.pt saves; 0 = only at the end
    progress: bool = MISSING  # tqdm bar; it hides itself when stderr is not a terminal
    # fp32 | bf16 (autocast) | auto (bf16 on a CPU with AVX512-BF16 or AMX): src/rnnlab/training/precision.py
    precision: str = MISSING
    # A wall-clock budget instead of max_steps: training and its schedule end when it is spent (training/schedules.py)
    max_minutes: float | None = None

    def __post_init__(self) -> None:
        for key in ("batch_size", "max_steps", "eval_every", "log_every"):
            require(getattr(self, key) >= 1, key, getattr(self, key), "an integer >= 1")
        require(
            self.max_minutes is None or (math.isfinite(self.max_minutes) and self.max_minutes > 0),
            "max_minutes",
            self.max_minutes,
            "minutes > 0, or null (the budget is max_steps)",
        )
        require(self.clip_grad_norm >= 0, "clip_grad_norm", self.clip_grad_norm, "a norm >= 0 (0 = off)")
        require(
            self.checkpoint_every >= 0, "checkpoint_every", self.checkpoint_every, "steps >= 0 (0 = at the end only)"
        )
        require_choice("precision", self.precision, PRECISIONS)


@dataclass
class LoggerSchema:
    _target_: str = "rnnlab.reporting.logger.TensorBoardLogger"
    samples: int = MISSING  # text samples ("input ... predicted ... true ...") written at the end

    def __post_init__(self) -> None:
        require(self.samples >= 0, "samples", self.samples, "an integer >= 0")


# ---------------------------------------------------------------------------------------------- the run

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass
class RunSchema:
    task: Any = MISSING
    model: Any = MISSING
    loss: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = MISSING
    trainer: Any = MISSING
    logger: Any = MISSING
    seed: int = MISSING
    device: str = MISSING
    threads: Any = MISSING  # auto, or the number of torch threads (src/rnnlab/training/threads.py)
    reuse_memory: bool = MISSING  # keep freed tensors' memory for the next (src/rnnlab/training/allocator.py)
    resume: bool = MISSING
    sweep: SweepSchema = field(default_factory=SweepSchema)
    study: StudySchema = field(default_factory=StudySchema)


GROUP_SCHEMAS: dict[str, dict[str, type]] = {
    "task": {
        "index_recall": IndexRecallSchema,
        "binary_addition": BinaryAdditionSchema,
        "temporal_order": TemporalOrderSchema,
        "mnist": MNISTSchema,
        "char_sequence": CharSequenceSchema,
        "adding": AddingSchema,
        "copy_memory": CopyMemorySchema,
    },
    "model": {"model": ModelSchema, "scratch_rnn": ScratchRNNSchema},
    "loss": {"loss": LossSchema},
    "optimizer": {"optimizer": OptimizerSchema, "momentum": MomentumOptimizerSchema},
    "scheduler": {
        "constant": ConstantSchedulerSchema,
        "cosine": CosineSchedulerSchema,
        "hold_cosine": HoldCosineSchedulerSchema,
    },
    "trainer": {"trainer": TrainerSchema},
    "logger": {"logger": LoggerSchema},
}
GROUPS = tuple(GROUP_SCHEMAS)


def register_schemas() -> None:
    """Put the schemas in Hydra's ConfigStore as /schema/<group>/<name> (conf/ files extend them)."""
    cs = ConfigStore.instance()
    cs.store(name="run_schema", node=RunSchema)
    for group, schemas in GROUP_SCHEMAS.items():
        for name, schema in schemas.items():
            if name == group:  # the group's one schema: /schema/model
                cs.store(group="schema", name=group, node=schema)
            else:  # one schema per option: /schema/task/binary_addition
                cs.store(group=f"schema/{group}", name=name, node=schema)


register_schemas()
