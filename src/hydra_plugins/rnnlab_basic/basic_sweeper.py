"""Hydra's basic sweeper (the grid of key=a,b,c), checking a sweep's jobs before it launches them in one composition
per set of group choices instead of one per job.

Before launching, Hydra's sweeper composes every job once to find a mistake early ("This can be a bit slow for
large jobs", hydra/_internal/core_plugins/basic_sweeper.py): 0.2-0.33 s a job on a 2-core EPYC, 3 s of a 9-job
sweep and 30 s of a 90-job one, before the launcher composes each job again to run it. This check is the same, made
with rnnlab.sweeps.compose_jobs (the one the rnnlab command checks a command line with): a job's value overrides
(model.hidden_size=5) go onto a copy of the config its group choices (model=lstm) compose, with Hydra's own
function. It raises what Hydra's check raises, at the same job. conf/hydra/sweeper/basic.yaml makes it the basic
sweeper, the default; everything else is Hydra's.
"""

from __future__ import annotations

from typing import Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper as HydraBasicSweeper


class BasicSweeper(HydraBasicSweeper):
    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        from rnnlab.sweeps.compose_jobs import compose_jobs

        assert self.config is not None
        hydra_overrides = list(self.config.hydra.overrides.hydra)  # what load_sweep_config puts before each job
        compose_jobs(self.config.hydra.job.config_name, [[*hydra_overrides, *job] for job in batch])
