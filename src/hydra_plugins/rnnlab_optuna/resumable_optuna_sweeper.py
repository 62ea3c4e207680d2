"""Hydra's Optuna sweeper, made resumable; rnnlab's hparams_search configs use it.

    rnnlab -m hparams_search=recall_optuna hydra.sweep.dir=outputs/search          # stopped after 7 of 20 trials
    rnnlab -m hparams_search=recall_optuna hydra.sweep.dir=outputs/search sweep.resume=true   # runs the other 13

The study lives in `<sweep dir>/optuna.db` (sqlite, `hydra.sweeper.storage`). On `sweep.resume=true` this sweeper
loads it and runs only the trials still missing from `n_trials` (a larger n_trials extends a finished search); a
trial that was running when the search stopped is marked failed and asked again with the same parameters; new job
dirs are numbered after the existing ones; a seeded sampler is seeded with seed + trials so far, so that it does
not draw the first trials' parameters again (and a resumed search is as reproducible as one run straight through).
Resume a search only while no other process runs it: its running trials would be taken as stopped.
Everything else is the stock sweeper (hydra-optuna-sweeper), which on its own would start n_trials afresh,
number its job dirs from 0 again (overwriting the old ones) and fail on an sqlite file whose folder is not there yet.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

try:  # the optuna extra; without it this module offers nothing and Hydra's plugin scan has nothing to trip on
    from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import (
        OptunaSweeper,  # 0.03 s; optuna itself is not loaded
    )
except ImportError:
    OptunaSweeper = None  # type: ignore[assignment,misc]  # the class below is then not defined

log = logging.getLogger(__name__)
SQLITE = "sqlite:///"

if OptunaSweeper is not None:

    class ResumableOptunaSweeper(OptunaSweeper):
        def setup(self, *, hydra_context: Any, task_function: Any, config: DictConfig) -> None:
            super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
            self.resume = bool(config.get("sweep", {}).get("resume", False))
            self.sampler_config = config.hydra.sweeper.sampler

        def sweep(self, arguments: list[str]) -> None:
            impl = self.sweeper  # the stock implementation: storage, study_name, n_trials, job_idx
            storage = str(impl.storage) if impl.storage is not None else None
            if storage and storage.startswith(SQLITE):  # sqlite makes the file, not the folder
                Path(storage[len(SQLITE) :]).parent.mkdir(parents=True, exist_ok=True)
            if self.resume:
                self._skip_finished_trials(impl, storage)
            return super().sweep(arguments)

        def _skip_finished_trials(self, impl: Any, storage: str | None) -> None:
            # Here, not at the top: Hydra's plugin scan imports this module in every command of a wheel install,
            # and importing optuna takes 2.3 s.
            import optuna

            if storage is None:
                raise ValueError("sweep.resume=true needs hydra.sweeper.storage: the study is read back from it")
            try:
                study = optuna.load_study(study_name=impl.study_name, storage=storage)
            except KeyError:
                log.info("sweep.resume: no study %s in %s yet; starting it", impl.study_name, storage)
                return
            trials = study.get_trials(deepcopy=False)
            finished = [t for t in trials if t.state.is_finished()]
            stopped = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
            for trial in stopped:  # its job never reported back: fail it, then ask for the same parameters again
                study._storage.set_trial_state(trial._trial_id, optuna.trial.TrialState.FAIL)
                with warnings.catch_warnings():  # optuna 2 calls enqueue_trial experimental; it is what we need
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    study.enqueue_trial(trial.params)
            impl.n_trials = max(0, impl.n_trials - len(finished))
            impl.job_idx = len(trials)  # one job dir per trial asked so far: the next ones come after them
            if trials and self.sampler_config.get("seed") is not None:
                reseeded = OmegaConf.merge(self.sampler_config, {"seed": self.sampler_config.seed + len(trials)})
                impl.sampler = instantiate(reseeded)
            log.info(
                "sweep.resume: %d trials of study %s finished, %d stopped and asked again, %d to run",
                len(finished),
                impl.study_name,
                len(stopped),
                impl.n_trials,
            )
