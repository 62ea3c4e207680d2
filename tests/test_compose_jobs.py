"""compose_jobs gives each job of a sweep the config Hydra's compose gives it, composing each set of group choices
once; a mistake in any job is raised as compose raises it."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from rnnlab.sweeps.compose_jobs import compose_jobs

JOBS = [
    ["model=gru", "model.hidden_size=5", "task=index_recall", "task.position=2"],
    ["model.hidden_size=7", "task=index_recall", "model=gru", "seed=4"],  # values before choices
    ["task=index_recall", "model=gru", "model={hidden_size: 9, num_layers: 2}"],  # a dict to a group is a value
    ["experiment=adding_lengths", "model=gru", "task.length=600", "model.forget_bias=chrono"],
    ["experiment=addition_fixed_lengths", "task.train_lengths=[5,5]", "~experiment"],  # a removed group
    ["debug=tiny", "trainer.max_steps=4"],
    ["hydra.job.chdir=true", "model=rnn", "model.nonlinearity=relu"],  # a hydra setting, with the choices
    ["model=rnn", "model.nonlinearity=relu", "threads=1", "trainer.max_steps=9"],
    [],
]


@pytest.fixture(scope="module", autouse=True)
def hydra_initialized():
    with initialize_config_module("rnnlab.conf", version_base="1.3"):
        yield


def test_every_job_gets_the_config_compose_gives_it():
    expected = [OmegaConf.to_yaml(compose("config", overrides=job)) for job in JOBS]
    assert [OmegaConf.to_yaml(cfg) for cfg in compose_jobs("config", JOBS)] == expected


def test_a_sweep_composes_once_per_set_of_group_choices(monkeypatch):
    import rnnlab.sweeps.compose_jobs as module

    composed = []
    monkeypatch.setattr(
        module, "compose", lambda name, overrides: composed.append(overrides) or compose(name, overrides)
    )
    jobs = [[f"model={model}", f"model.hidden_size={size}"] for model in ("rnn", "lstm", "gru") for size in (2, 5, 10)]
    configs = compose_jobs("config", jobs)
    assert composed == [["model=rnn"], ["model=lstm"], ["model=gru"]]
    assert [(c.model.cell, c.model.hidden_size) for c in configs] == [
        (m, s) for m in ("rnn", "lstm", "gru") for s in (2, 5, 10)
    ]


def test_jobs_do_not_share_one_config_object():
    first, second = compose_jobs("config", [["model.hidden_size=3"], ["model.hidden_size=4"]])
    first.model.hidden_size = 100
    assert second.model.hidden_size == 4


@pytest.mark.parametrize(
    "job",
    [
        ["model=scratch_rnn", "model.num_layers=2"],  # a key this choice's schema lacks
        ["model=rnn", "model.hidden_size=many"],  # a value of the wrong type
        ["model=mamba"],
    ],
)  # an option that does not exist
def test_a_mistake_in_a_later_job_is_raised_as_compose_raises_it(job):
    with pytest.raises(ConfigCompositionException) as expected:
        compose("config", overrides=job)
    with pytest.raises(ConfigCompositionException) as raised:
        compose_jobs("config", [["model=rnn"], job, ["model=lstm"]])
    assert str(raised.value) == str(expected.value)


def hydra_context():
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import HydraContext

    return HydraContext(config_loader=GlobalHydra.instance().config_loader(), callbacks=None)


def hydra_check(batch: list[list[str]], config) -> None:
    """Hydra's own check of a sweep's batch, one composition per job."""
    from hydra._internal.core_plugins.basic_sweeper import (
        BasicSweeper as HydraBasicSweeper,
    )

    sweeper = HydraBasicSweeper(max_batch_size=None)
    sweeper.config, sweeper.hydra_context = config, hydra_context()
    sweeper.validate_batch_is_legal(batch)


@pytest.mark.parametrize(
    "batch",
    [
        [["model=rnn"], ["model=lstm", "model.forget_bias=chrono"]],
        [["model=rnn"], ["model=scratch_rnn", "model.num_layers=2"], ["model=gru"]],
        [["model=rnn", "seed=1"], ["model=rnn", "seed=many"]],
    ],
)
def test_the_default_sweeper_checks_a_batch_as_hydra_does(batch):
    """The sweeper Hydra builds from the default config (conf/hydra/sweeper/basic.yaml) is rnnlab's, and it passes
    and refuses the batches Hydra's own check passes and refuses, with the same message."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.rnnlab_basic.basic_sweeper import BasicSweeper
    from rnnlab.cli.plugins import register_plugins

    config = compose("config", overrides=["hydra.job.chdir=false"], return_hydra_config=True)
    register_plugins()
    sweeper = Plugins.instance().instantiate_sweeper(
        hydra_context=hydra_context(), task_function=lambda cfg: None, config=config
    )
    assert type(sweeper) is BasicSweeper
    try:
        hydra_check(batch, config)
    except ConfigCompositionException as expected:
        with pytest.raises(ConfigCompositionException) as raised:
            sweeper.validate_batch_is_legal(batch)
        assert str(raised.value) == str(expected)
    else:
        sweeper.validate_batch_is_legal(batch)


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=rnn,lstm", "model.hidden_size=2,5", "seed=1"],
        ["model=rnn,gru", "seed=3", "model=lstm"],  # a key twice
        ["model.hidden_size=range(1,4)", "+x=1", "x=2", "~seed"],
    ],
)
def test_expand_jobs_makes_the_jobs_hydras_basic_sweeper_makes(overrides):
    from hydra._internal.core_plugins.basic_sweeper import (
        BasicSweeper as HydraBasicSweeper,
    )
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from rnnlab.sweeps.compose_jobs import expand_jobs

    def meaning(jobs):  # each override as (key, value): ~seed and ~seed=null are one override
        return [[(o.get_key_element(), o.value()) for o in parser.parse_overrides(job)] for job in jobs]

    parser = OverridesParser.create()
    [batch] = HydraBasicSweeper.split_arguments(parser.parse_overrides(overrides), None)
    assert meaning(expand_jobs(overrides)) == meaning(batch)


def test_an_experiments_swept_keys_come_first_and_only_for_the_basic_sweeper():
    from rnnlab.sweeps.compose_jobs import swept_by_the_config

    study = compose("config", overrides=["experiment=temporal_order_models"], return_hydra_config=True)
    assert swept_by_the_config(study) == [
        "task.variant=6a,6b",
        "model=rnn,lstm",
        "model.attention=none,additive,dot,inputs_only",
    ]
    assert swept_by_the_config(compose("config", return_hydra_config=True)) == []
    search = compose("config", overrides=["hparams_search=recall_optuna"], return_hydra_config=True)
    assert search.hydra.sweeper.params and swept_by_the_config(search) == []  # Optuna samples its own
