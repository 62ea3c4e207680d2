"""What a run is, said once: its setup as a nested dict (report.json), as flat readable columns (TensorBoard's
HPARAMS tab, rnnlab-report) and as a one-line name (figure titles, report headers).

    setup = describe(cfg, task, model, loss_fn, n_params)
    name = run_name(setup, job="model=lstm,model.hidden_size=5")   # 'index_recall · lstm h=5 [model=lstm,...]'
    columns = hparams(setup)                        # {'task': 'index_recall', 'model.cell': 'lstm', ...}

Only settings that describe the experiment go in: sizes of the validation and test sets, data paths, the progress
bar and the like stay out, so that a sweep's table shows what was compared.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from rnnlab.protocols import member

# Task keys that say how a run is checked or where data lives, not what was learned.
NOT_SETUP = {"_target_", "_partial_", "val_size", "test_size", "stop_window", "root", "download"}
# Model keys that only one cell has: recorded for that cell alone, so an rnn-vs-lstm sweep does not show the
# forget bias as one more thing that varied.
CELL_ONLY = {"forget_bias": "lstm", "nonlinearity": "rnn"}


def _class_name(target: str) -> str:
    return target.rsplit(".", 1)[-1]


def _settings(node: DictConfig) -> dict[str, Any]:
    settings = OmegaConf.to_container(node, resolve=True)
    assert isinstance(settings, dict)  # a config group's node is a mapping
    return {str(k): v for k, v in settings.items() if k not in NOT_SETUP}


def _model_settings(node: DictConfig) -> dict[str, Any]:
    settings = _settings(node)
    if settings.get("attention", "none") == "none":  # its heads and query mean nothing then
        settings = {
            k: v for k, v in settings.items() if k not in ("attention_heads", "attention_query", "attention_null")
        }
    if "cell" not in settings:  # a model of the user's own: all its keys are its own
        return settings
    # (chrono is a forget bias the gru takes too)
    return {
        k: v
        for k, v in settings.items()
        if CELL_ONLY.get(k, settings.get("cell")) == settings.get("cell") or v == "chrono"
    }


def describe(cfg: DictConfig, task, model, loss_fn, n_params: int) -> dict[str, Any]:
    """The run's setup: task and model settings, loss, optimizer, schedule, batch size, steps, seed."""
    optimizer = _settings(cfg.optimizer)
    trainer = cfg.trainer
    return {
        "task": {"name": task.name, **_settings(cfg.task)},
        "model": {"name": model_name(model), **_model_settings(cfg.model), "params": n_params},
        "loss": loss_fn.name,
        "optimizer": {"name": _class_name(cfg.optimizer._target_).lower(), **optimizer},  # adam, sgd ...
        "scheduler": _class_name(cfg.scheduler._target_),  # CosineAnnealingLR, ConstantLR
        "trainer": {
            "batch_size": trainer.batch_size,
            "max_steps": trainer.max_steps,
            **({"max_minutes": trainer.max_minutes} if trainer.get("max_minutes") is not None else {}),
            "clip_grad_norm": trainer.clip_grad_norm,
            "early_stop": trainer.early_stop,
            "precision": trainer.precision,
        },
        "seed": cfg.seed,
    }


def budget(cfg: DictConfig) -> dict[str, Any]:
    """What a comparison held equal: the steps (the default) or the minutes of training, and the parameter count
    the width was fitted to (model.params), if any."""
    minutes = cfg.trainer.get("max_minutes")
    held = (
        {"kind": "time", "minutes": minutes}
        if minutes is not None
        else {"kind": "steps", "steps": cfg.trainer.max_steps}
    )
    if cfg.model.get("params") is not None:
        held["params"] = cfg.model.params
    return held


def budget_text(held: dict[str, Any], steps_reached: int | None = None) -> str:
    """'5,000 steps', '2 minutes of training (731 steps reached)', '..., width fitted to 50,000 parameters'."""
    if held["kind"] == "time":
        text = f"{held['minutes']:g} minutes of training" + (
            f" ({steps_reached:,} steps reached)" if steps_reached else ""
        )
    else:
        text = f"{held['steps']:,} steps"
    return text + (f", width fitted to {held['params']:,} parameters (model.params)" if "params" in held else "")


def model_name(model) -> str:
    """A model's name in reports: its own `name`, else its class's (indrnn for IndRNN)."""
    return str(member(model, "name") or type(model).__name__.lower())


def model_summary(model: dict[str, Any]) -> str:
    """'lstm h=32', '2×gru h=128 bidirectional', 'rnn h=10 + additive attention', 'mingru h=128 + mean pooling'."""
    text = model.get("cell", model["name"]) + (f" h={model['hidden_size']}" if "hidden_size" in model else "")
    if model.get("num_layers", 1) > 1:
        text = f"{model['num_layers']}×{text}"
    if model.get("bidirectional"):
        text += " bidirectional"
    if model.get("attention", "none") != "none":
        text += " + mean pooling" if model["attention"] == "mean" else f" + {model['attention']} attention"
    return text


def run_name(setup: dict[str, Any], job: str = "") -> str:
    """The run's identity in one line; `job` is what varied in a sweep (its dir name after the number)."""
    task = setup["task"]
    name = task["name"] + (f" {task['variant']}" if "variant" in task else "")
    text = f"{name} · {model_summary(setup['model'])} · {setup['loss']}"
    return f"{text} [{job}]" if job else text


def hparams(setup: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """Flat columns: strings as strings, booleans as booleans, lists as text; 'task' and 'model.cell' lead."""
    task, model = setup["task"], setup["model"]
    flat: dict[str, bool | int | float | str] = {"task": task["name"]}
    flat.update({f"task.{k}": _scalar(v) for k, v in task.items() if k != "name"})
    flat["model.cell"] = model.get("cell", model["name"])  # the scratch RNN has no cell key: its name says it
    flat.update({f"model.{k}": _scalar(v) for k, v in model.items() if k not in ("name", "cell")})
    flat["loss"] = setup["loss"]
    flat["optimizer"] = setup["optimizer"]["name"]
    flat["optimizer.lr"] = setup["optimizer"]["lr"]
    flat["optimizer.weight_decay"] = setup["optimizer"]["weight_decay"]
    flat["scheduler"] = setup["scheduler"]
    flat["trainer.batch_size"] = setup["trainer"]["batch_size"]
    flat["trainer.max_steps"] = setup["trainer"]["max_steps"]
    if "max_minutes" in setup["trainer"]:
        flat["trainer.max_minutes"] = setup["trainer"]["max_minutes"]
    flat["seed"] = setup["seed"]
    return flat


def _scalar(value: Any) -> bool | int | float | str:
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    return str(value)
