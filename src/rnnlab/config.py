"""Config schemas: the types, ranges and choices of every key, checked before anything runs.

Schemas hold types, not values: the values live in the YAML files alone. Each option file under conf/ names
its schema first in its defaults list, so Hydra checks types while it
composes (``model.hidden_size=abc`` is refused there) and keys that do not exist are refused too:

    # conf/model/lstm.yaml
    defaults:
      - /schema/model@_here_
      - _self_
    cell: lstm

Ranges and relations are checked by each schema's ``__post_init__``, which runs when ``validate(cfg)`` turns
the composed config into dataclass objects. Objects are then built from the config by ``build(node)``, the one
mechanism for that (``_target_`` + ``hydra.utils.instantiate``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ValidationError


class ConfigError(ValueError):
    """A mistake in the user's config or command line: shown as one line, exit code 2, no traceback."""


def require(ok: bool, key: str, value: Any, allowed: str) -> None:
    """Raise a ConfigError that names the key, the bad value and what is allowed."""
    if not ok:
        raise ConfigError(f"{key}={_show(value)} is not allowed: {allowed}")


def require_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    require(value in choices, key, value, "choose one of " + ", ".join(choices))


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return str(value) if not isinstance(value, str) else value


def _check_length_range(key: str, lengths: list[int]) -> None:
    require(len(lengths) == 2, key, lengths, "give [min,max] sequence lengths, e.g. [1,20]")
    require(1 <= lengths[0] <= lengths[1], key, lengths, "need 1 <= min <= max")


def _check_lengths(key: str, lengths: list[int]) -> None:
    require(len(lengths) >= 1 and all(n >= 1 for n in lengths), key, lengths, "a non-empty list of lengths >= 1")


# ---------------------------------------------------------------------------------------------- tasks


@dataclass
class TaskSchema:
    _target_: str = MISSING
    val_size: int = MISSING
    test_size: int = MISSING
    # Stop once the most recent `stop_window` training sequences were all right (the 1997 paper's criterion);
    # 0 never stops early. trainer.early_stop switches the criterion off for every task.
    stop_window: int = MISSING

    def __post_init__(self) -> None:
        require(self.val_size >= 1, "val_size", self.val_size, "an integer >= 1")
        require(self.test_size >= 1, "test_size", self.test_size, "an integer >= 1")
        require(self.stop_window >= 0, "stop_window", self.stop_window, "an integer >= 0 (0 = off)")


@dataclass
class IndexRecallSchema(TaskSchema):
    _target_: str = "rnnlab.tasks.index_recall.IndexRecall"
    position: int = MISSING
    train_lengths: list[int] = MISSING
    test_lengths: list[int] = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_length_range("train_lengths", self.train_lengths)
        _check_lengths("test_lengths", self.test_lengths)
        shortest = min(self.train_lengths[0], *self.test_lengths)
        require(
            0 <= self.position < shortest, "position", self.position,
            f"0 <= position < {shortest}, the shortest train or test length (positions count from 0)",
        )


@dataclass
class BinaryAdditionSchema(TaskSchema):
    _target_: str = "rnnlab.tasks.binary_addition.BinaryAddition"
    train_lengths: list[int] = MISSING
    test_lengths: list[int] = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_length_range("train_lengths", self.train_lengths)
        _check_lengths("test_lengths", self.test_lengths)


TEMPORAL_ORDER_VARIANTS = ("6a", "6b")


@dataclass
class TemporalOrderSchema(TaskSchema):
    _target_: str = "rnnlab.tasks.temporal_order.TemporalOrder"
    variant: str = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        require_choice("variant", self.variant, TEMPORAL_ORDER_VARIANTS)


@dataclass
class CharSequenceSchema(TaskSchema):
    _target_: str = "rnnlab.tasks.char_sequence.CharSequence"
    text: str = MISSING
    file: Optional[str] = None  # a UTF-8 text file to learn instead of `text`
    prompt: Optional[str] = None  # generation starts from it; null = the text's first character
    temperature: float = MISSING  # 0 = greedy
    window: int = MISSING  # characters per training sequence when the text is longer
    generate_chars: int = MISSING  # characters the test writes after the prompt, at most

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.temperature >= 0, "temperature", self.temperature, "a temperature >= 0 (0 = greedy)")
        require(self.window >= 1, "window", self.window, "an integer >= 1")
        require(self.generate_chars >= 0, "generate_chars", self.generate_chars, "an integer >= 0")


@dataclass
class AddingSchema(TaskSchema):
    _target_: str = "rnnlab.tasks.adding.Adding"
    length: int = MISSING  # T: steps per training sequence
    test_lengths: list[int] = MISSING  # [] = [T, 2T]

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.length >= 2, "length", self.length, "an integer >= 2 (a marker in each half)")
        require(all(n >= 2 for n in self.test_lengths), "test_lengths", self.test_lengths,
                "lengths >= 2 ([] = [T, 2T])")


@dataclass
class CopyMemorySchema(TaskSchema):
    _target_: str = "rnnlab.tasks.copy_memory.CopyMemory"
    length: int = MISSING  # T: the blank steps between the symbols and the delimiter's end
    test_lengths: list[int] = MISSING  # [] = [T, 2T]

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.length >= 1, "length", self.length, "an integer >= 1")
        require(all(n >= 1 for n in self.test_lengths), "test_lengths", self.test_lengths,
                "lengths >= 1 ([] = [T, 2T])")


MNIST_LAYOUTS = ("rows", "pixels")


@dataclass
class MNISTSchema(TaskSchema):
    _target_: str = "rnnlab.tasks.mnist.MNIST"
    root: str = MISSING  # holds MNIST/raw/ (torchvision layout)
    download: bool = MISSING
    layout: str = MISSING
    permute: bool = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        require_choice("layout", self.layout, MNIST_LAYOUTS)


# ---------------------------------------------------------------------------------------------- model

CELLS = ("rnn", "lstm", "gru")
NONLINEARITIES = ("tanh", "relu")
ATTENTION = ("none", "additive", "dot", "report_input")
ATTENTION_QUERIES = ("learned", "final")


@dataclass
class ModelSchema:
    _target_: str = "rnnlab.models.RecurrentNet"
    cell: str = MISSING
    hidden_size: int = MISSING
    num_layers: int = MISSING
    nonlinearity: str = "tanh"  # the rnn cell's; set in conf/model/rnn.yaml
    dropout: float = MISSING
    bidirectional: bool = MISSING
    attention: str = MISSING
    attention_heads: int = MISSING
    attention_query: str = MISSING  # additive attention's query: learned (per head) or final (from the final state)
    # The initial forget-gate bias: a number (the lstm cell's; set in conf/model/lstm.yaml) or chrono (Tallec &
    # Ollivier 2018: drawn from the task's sequence length; lstm and gru).
    forget_bias: Any = 0.0

    def __post_init__(self) -> None:
        require_choice("cell", self.cell, CELLS)
        require(self.hidden_size >= 1, "hidden_size", self.hidden_size, "an integer >= 1")
        require(self.num_layers >= 1, "num_layers", self.num_layers, "an integer >= 1")
        require_choice("nonlinearity", self.nonlinearity, NONLINEARITIES)
        require(
            self.cell == "rnn" or self.nonlinearity == "tanh", "nonlinearity", self.nonlinearity,
            f"only the rnn cell takes relu; {self.cell} has its own gates (use model=rnn)",
        )
        chrono = self.forget_bias == "chrono"
        number = isinstance(self.forget_bias, (int, float)) and not isinstance(self.forget_bias, bool)
        require(chrono or (number and math.isfinite(self.forget_bias)), "forget_bias", self.forget_bias,
                "a finite number, or chrono")
        require(
            self.cell in ("lstm", "gru") or not chrono, "forget_bias", self.forget_bias,
            f"chrono sets the gates of lstm and gru cells; {self.cell} has none (use model=lstm or model=gru)",
        )
        require(
            self.cell == "lstm" or chrono or self.forget_bias == 0, "forget_bias", self.forget_bias,
            f"only the lstm cell has a forget gate; {self.cell} takes none (use model=lstm, or forget_bias=chrono)",
        )
        require(0.0 <= self.dropout < 1.0, "dropout", self.dropout, "0 <= dropout < 1")
        require_choice("attention", self.attention, ATTENTION)
        require(self.attention_heads >= 1, "attention_heads", self.attention_heads, "an integer >= 1")
        require_choice("attention_query", self.attention_query, ATTENTION_QUERIES)


@dataclass
class ScratchRNNSchema:
    _target_: str = "rnnlab.scratch.ScratchRNN"
    hidden_size: int = MISSING
    bias: bool = MISSING

    def __post_init__(self) -> None:
        require(self.hidden_size >= 1, "hidden_size", self.hidden_size, "an integer >= 1")


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
        require(self.lr > 0, "lr", self.lr, "a learning rate > 0")
        require(self.weight_decay >= 0, "weight_decay", self.weight_decay, "an L2 weight >= 0")


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
    factor: float = MISSING
    total_iters: int = MISSING


@dataclass
class CosineSchedulerSchema(SchedulerSchema):
    T_max: int = MISSING  # steps from optimizer.lr down to eta_min
    eta_min: float = MISSING

    def __post_init__(self) -> None:
        require(self.T_max >= 1, "T_max", self.T_max, "an integer >= 1 (steps)")
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

    def __post_init__(self) -> None:
        for key in ("batch_size", "max_steps", "eval_every", "log_every"):
            require(getattr(self, key) >= 1, key, getattr(self, key), "an integer >= 1")
        require(self.clip_grad_norm >= 0, "clip_grad_norm", self.clip_grad_norm, "a norm >= 0 (0 = off)")
        require(self.checkpoint_every >= 0, "checkpoint_every", self.checkpoint_every, "steps >= 0 (0 = at the end only)")


@dataclass
class LoggerSchema:
    _target_: str = "rnnlab.logger.TensorBoardLogger"
    samples: int = MISSING  # text samples ("input ... predicted ... true ...") written at the end

    def __post_init__(self) -> None:
        require(self.samples >= 0, "samples", self.samples, "an integer >= 0")


# ---------------------------------------------------------------------------------------------- the run

DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass
class SweepSchema:
    resume: bool = False  # re-run a sweep into its hydra.sweep.dir, skipping jobs whose report is ok


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
    threads: Any = MISSING  # auto, or the number of torch threads (src/rnnlab/threads.py)
    resume: bool = MISSING
    sweep: SweepSchema = field(default_factory=SweepSchema)


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
    "scheduler": {"constant": ConstantSchedulerSchema, "cosine": CosineSchedulerSchema},
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

MAX_DIR_NAME = 200  # bytes; file systems allow 255 for one path component


def job_dir_name(num: Any, overrides: str) -> str:
    """A sweep job's dir: its number, then what varied in it (hydra.job.override_dirname), made path-safe; in a
    resumed sweep, the dir that already holds these settings (src/rnnlab/sweep_resume.py)."""
    from rnnlab.sweep_resume import first_new_number, planned_dir

    if planned := planned_dir(overrides):
        return planned
    num = int(num) + first_new_number()
    name = f"{num}_{overrides.replace('/', '_')}" if overrides else str(num)
    encoded = name.encode()
    return name if len(encoded) <= MAX_DIR_NAME else encoded[:MAX_DIR_NAME].decode(errors="ignore") + "…"


def _output_subdir(overrides: str) -> str | None:
    from rnnlab.sweep_resume import output_subdir

    return output_subdir(overrides)


def _job_log(output_dir: str, job_name: str, overrides: str) -> str:
    from rnnlab.sweep_resume import log_file

    return log_file(output_dir, job_name, overrides)


for _name, _resolver in (("rnnlab_job_dir", job_dir_name), ("rnnlab_output_subdir", _output_subdir),
                         ("rnnlab_job_log", _job_log)):
    if not OmegaConf.has_resolver(_name):
        OmegaConf.register_new_resolver(_name, _resolver)


MAX_SEED = 2**63 - 1  # torch.manual_seed and torch.Generator take 64-bit seeds


def validate(cfg: DictConfig) -> None:
    """Check ranges and relations of every group; raise ConfigError naming the first bad key."""
    if missing := [f.name for f in fields(RunSchema) if f.name not in cfg]:  # removed with ~key
        raise ConfigError(f"{missing[0]} cannot be removed (~{missing[0]}): every run needs it; set it instead, "
                          f"e.g. {missing[0]}=<value>")
    for group in GROUPS:
        validate_group(cfg, group)
    check_seed(cfg.seed)
    check_device(cfg.device)
    threads = cfg.threads
    require(threads == "auto" or (isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1),
            "threads", threads, "auto or a number of threads >= 1")


def check_seed(seed: Any) -> None:
    require(isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED, "seed", seed,
            f"an integer from 0 to {MAX_SEED} (2**63 - 1)")


def check_device(name: Any) -> None:
    require(isinstance(name, str) and DEVICE_PATTERN.fullmatch(name) is not None, "device", name, "auto, cpu, cuda or cuda:N")


def validate_group(cfg: DictConfig, group: str) -> None:
    """Check one group's ranges. A node that lost its schema (a config read back from a checkpoint) is checked
    against the schema whose _target_ it names."""
    node = cfg[group]
    if OmegaConf.get_type(node) is dict:
        schema = next((s for s in GROUP_SCHEMAS[group].values() if s._target_ == node.get("_target_")), None)
        if schema is None:
            return
        try:
            node = OmegaConf.merge(OmegaConf.structured(schema), node)
        except ValidationError as err:  # a value of the wrong type, e.g. task.test_lengths=abc
            value = getattr(err, "value", None)
            raise ConfigError(f"{group}.{err.key}={_show(value)} is not allowed: {expected_type(str(err.msg))}") from None
    schema = OmegaConf.get_type(node)
    if is_dataclass(schema):  # a key added with +key=value that no schema knows would be silently ignored
        known = [f.name for f in fields(schema) if not f.name.startswith("_")]
        if unknown := [k for k in node if k not in known and not str(k).startswith("_")]:
            raise ConfigError(f"{group}.{unknown[0]} is not a key of {group}: choose one of {', '.join(known)}")
    try:
        OmegaConf.to_object(node)
    except ConfigError as err:
        raise ConfigError(f"{group}.{err}") from None


def expected_type(message: str) -> str:
    """OmegaConf's type messages, said as what the key takes."""
    if match := re.search(r"could not be converted to (\w+)", message):
        kind = match.group(1).lower()
        return f"expected {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    if "not a valid bool" in message:
        return "expected true or false"
    if "is not a ListConfig, list or tuple" in message:
        return "expected a list, e.g. [1,20]"
    return message


def build(node: DictConfig, **kwargs: Any) -> Any:
    """Instantiate ``node`` through its ``_target_``; a ConfigError raised inside comes out as itself."""
    try:
        return instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, ConfigError):
            raise cause from None
        raise
