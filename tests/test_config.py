"""compose() of every config group option, and bad values refused with a message that names the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import rnnlab.conf
from conftest import compose_config
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from rnnlab.config.build import build
from rnnlab.config.schemas import GROUPS
from rnnlab.config.validate import validate
from rnnlab.errors import ConfigError
from rnnlab.runner.parts import build_run, resolve_device
from rnnlab.tasks.base import seeded

CONF = Path(rnnlab.conf.__file__).parent


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


ALL_OPTIONS = [(group, option) for group in GROUPS for option in options(group)]


def test_every_group_has_options():
    assert {g: len(options(g)) >= 1 for g in GROUPS} == {g: True for g in GROUPS}
    assert options("model") == ["gru", "lru", "lstm", "mingru", "minlstm", "rnn", "s6", "scratch_rnn", "transformer"]
    assert options("loss") == ["bce", "cross_entropy", "default", "mse", "nll"]
    assert options("optimizer") == ["adagrad", "adam", "rmsprop", "sgd"]


@pytest.mark.parametrize("group,option", ALL_OPTIONS)
def test_every_option_composes_validates_and_builds(group, option):
    overrides = [f"{group}={option}"]
    if group == "loss" and option == "bce":
        overrides.append("task=binary_addition")  # the one task bce makes sense for
    if option == "scratch_rnn":
        overrides.append("task=char_sequence")  # a per-step task
    if option == "adding":
        overrides.append("loss=mse")  # a regression task: mse alone
    cfg = compose_config(*overrides)
    validate(cfg)
    task, model, loss, optimizer, scheduler = build_run(cfg, resolve_device("cpu"))
    if task.name != "mnist":  # mnist batches need the data files
        batch = task.make_batch(2, seeded(0, resolve_device("cpu")), resolve_device("cpu"))
        assert model(batch.x, batch.lengths).shape[-1] == loss.num_outputs(task.num_classes)
    # built with the configured rate; a warm-up (scheduler=warmup_cosine) starts below it, from that base
    assert optimizer.param_groups[0]["initial_lr"] == cfg.optimizer.lr == scheduler.base_lrs[0]


@pytest.mark.parametrize(
    "override,message",
    [
        ("model.hidden_size=0", "model.hidden_size=0 is not allowed: an integer >= 1"),
        ("model.num_layers=0", "model.num_layers=0 is not allowed"),
        ("model.dropout=1.0", "model.dropout=1.0 is not allowed: 0 <= dropout < 1"),
        (
            "model.attention=luong",
            "model.attention=luong is not allowed: choose one of none, additive, dot, mean, inputs_only",
        ),
        ("model.attention_heads=0", "model.attention_heads=0 is not allowed: an integer >= 1"),
        ("model.attention_query=mean", "model.attention_query=mean is not allowed: choose one of learned, final"),
        ("trainer.precision=fp16", "trainer.precision=fp16 is not allowed: choose one of fp32, bf16, auto"),
        ("model.forget_bias=1", "model.forget_bias=1 is not allowed: only the lstm cell has a forget gate"),
        ("model.forget_bias=nan", "model.forget_bias=nan is not allowed: a finite number"),
        ("optimizer.lr=0", "optimizer.lr=0.0 is not allowed: a finite learning rate > 0"),
        ("optimizer.weight_decay=-1", "optimizer.weight_decay=-1.0 is not allowed"),
        ("trainer.batch_size=0", "trainer.batch_size=0 is not allowed"),
        ("task.train_lengths=[5,2]", "task.train_lengths=[5,2] is not allowed: need 1 <= min <= max"),
        ("task.train_lengths=[0,4]", "task.train_lengths=[0,4] is not allowed"),
        ("task.test_lengths=[]", "task.test_lengths=[] is not allowed"),
        ("device=gpu", "device=gpu is not allowed: auto, cpu, cuda or cuda:N"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(override, message):
    overrides = [override]
    if override.startswith("model.forget_bias"):
        overrides.insert(0, "model=gru")
    with pytest.raises(ConfigError) as err:
        validate(compose_config(*overrides))
    assert str(err.value).startswith(message)


def test_position_must_lie_inside_the_shortest_sequence():
    with pytest.raises(ConfigError, match=r"task.position=3 is not allowed: 0 <= position < 3"):
        validate(compose_config("task=index_recall", "task.position=3"))


def test_unknown_variant_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="task.variant=6c is not allowed: choose one of 6a, 6b"):
        validate(compose_config("task=temporal_order", "task.variant=6c"))


def test_wrong_type_and_unknown_key_are_refused_while_composing():
    with pytest.raises(ConfigCompositionException) as err:
        compose_config("model.hidden_size=abc")
    assert isinstance(err.value.__cause__, ValidationError)
    with pytest.raises(ConfigCompositionException, match="hidden_sise"):
        compose_config("model.hidden_sise=3")


def test_bce_with_a_ten_class_task_is_refused_before_training():
    cfg = compose_config("task=index_recall", "loss=bce")
    validate(cfg)
    with pytest.raises(ConfigError, match="loss=bce needs a task with two classes"):
        build_run(cfg, resolve_device("cpu"))


def test_attention_on_a_per_step_task_is_refused_through_build():
    cfg = compose_config("task=binary_addition", "model.attention=additive")
    with pytest.raises(ConfigError, match="one output per step"):
        build(cfg.model, input_size=2, output_size=2, per_step=True)


def test_cuda_when_absent_is_a_config_error(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.parametrize("experiment", sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")))
def test_every_experiment_composes_validates_and_builds(experiment):
    cfg = compose_config(f"experiment={experiment}")
    validate(cfg)
    task, model, loss, *_ = build_run(cfg, resolve_device("cpu"))
    if task.name != "mnist":  # mnist batches need the data files
        batch = task.make_batch(2, seeded(0, resolve_device("cpu")), resolve_device("cpu"))
        assert model(batch.x, batch.lengths).shape[-1] == loss.num_outputs(task.num_classes)


def test_task_defaults_apply_to_their_task_only_and_yield_to_the_command_line():
    from omegaconf import OmegaConf

    conf = Path(__file__).parents[1] / "conf"
    own = OmegaConf.load(conf / "task_defaults" / "mnist.yaml")  # every setting MNIST sets for itself
    shared = compose_config("task=binary_addition")  # a task without task_defaults
    mnist = compose_config("task=mnist")
    for key in ("model.hidden_size", "model.num_layers", "trainer.batch_size", "trainer.max_steps"):
        assert OmegaConf.select(mnist, key) == OmegaConf.select(own, key) != OmegaConf.select(shared, key), key
    assert compose_config("task=mnist", "trainer.batch_size=7").trainer.batch_size == 7
    assert compose_config("experiment=mnist_bilstm").model.bidirectional is True


def test_a_models_recipe_for_a_task_applies_to_that_pair_only():
    """conf/task_model_defaults/<task>_<model>.yaml (Hydra's specialising pattern): chrono for the LSTM on the adding
    problem, while model=rnn (which has no gates to set) and a user's own model compose as before."""
    lstm = compose_config("task=adding")
    assert lstm.model.forget_bias == "chrono" and lstm.trainer.max_steps > compose_config().trainer.max_steps
    rnn = compose_config("task=adding", "model=rnn")
    validate(rnn)
    assert rnn.model.forget_bias == 0 and rnn.trainer.max_steps == compose_config().trainer.max_steps
    assert compose_config("task=adding", "model.forget_bias=1").model.forget_bias == 1  # the command line wins
    assert compose_config("task=index_recall").model.forget_bias == 2.0  # no recipe: the model's own default


def test_the_copying_problem_picks_its_optimizer_for_every_model_and_the_command_line_still_wins():
    lstm, gru = compose_config("task=copy_memory"), compose_config("task=copy_memory", "model=gru")
    for cfg in (lstm, gru):
        validate(cfg)
        assert cfg.optimizer._target_ == "torch.optim.RMSprop" and cfg.optimizer.lr == 0.001
        assert cfg.scheduler._target_ == "torch.optim.lr_scheduler.ConstantLR"
    assert lstm.model.hidden_size == 128 and lstm.model.forget_bias == "chrono" and lstm.trainer.max_steps == 40000
    assert gru.model.hidden_size == 32 and gru.trainer.max_steps == 2000  # the LSTM's recipe is the LSTM's
    mine = compose_config("task=copy_memory", "optimizer=adam", "scheduler=cosine")
    assert mine.optimizer._target_ == "torch.optim.Adam" and mine.scheduler._target_.endswith("CosineAnnealingLR")
    assert compose_config().optimizer._target_ == "torch.optim.Adam"  # other tasks keep the shared default
