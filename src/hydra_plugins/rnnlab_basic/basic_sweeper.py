"""Hydra's basic sweeper (the grid of key=a,b,c), checking a sweep's jobs before it launches them in one composition
per set of group choices instead of one per job.

Before launching, Hydra's sweeper composes every job once to find a mistake early ("This can be a bit slow for
large jobs", Hydra's core_plugins/basic_sweeper.py): 0.2-0.33 s a job on a 2-core EPYC, 3 s of a 9-job
sweep and 30 s of a 90-job one, before the launcher composes each job again to run it. This check is the same, made
with rnnlab.sweeps.compose_jobs (the one the rnnlab command checks a command line with): a job's value overrides
(model.hidden_size=5) go onto a copy of the config its group choices (model=lstm) compose, with Hydra's own
function. It raises what Hydra's check raises, at the same job. conf/hydra/sweeper/basic.yaml makes it the basic
sweeper, the default; everything else is Hydra's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from rnnlab.config.hydra_internals import BasicSweeper as HydraBasicSweeper

log = logging.getLogger(__name__)


class BasicSweeper(HydraBasicSweeper):
    def sweep(self, arguments: list[str]) -> Any:
        """Hydra's grid; a tuned comparison (study.compare, several seeds) in two stages (rnnlab.sweeps.tuned)."""
        from rnnlab.sweeps.tuned import chosen, first_stage_keys, split_stages

        assert self.config is not None and self.launcher is not None and self.hydra_context is not None
        study = self.config.get("study") or {}
        if not study.get("compare") or study.get("select", "first_seed") != "first_seed":
            return super().sweep(arguments)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        jobs = [
            job
            for batch in self.split_arguments(parser.parse_overrides([*self._parse_config(), *arguments]), None)
            for job in batch
        ]
        stages = split_stages(jobs)
        if stages is None:  # one seed: the grid is the whole study
            return super().sweep(arguments)
        first, rest = stages
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        log.info("tuned comparison, stage 1: the grid at the first seed (%d jobs)", len(first))
        returns = [self._launch(first, 0)]
        keys = first_stage_keys(sweep_dir, first, OmegaConf.to_container(study))  # type: ignore[arg-type]
        second = chosen(first, keys, rest, list(study.get("tune", [])))
        log.info("stage 2: each chosen setting at the other seeds (%d jobs)", len(second))
        if second:
            returns.append(self._launch(second, len(first)))
        return returns

    def _launch(self, batch: list[list[str]], initial_job_idx: int) -> Sequence[Any]:
        self.validate_batch_is_legal(batch)
        results = self.launcher.launch(batch, initial_job_idx=initial_job_idx)
        for r in results:
            _ = r.return_value  # a job that raised raises here, as in Hydra's sweep
        return results

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        from rnnlab.sweeps.compose_jobs import compose_jobs

        assert self.config is not None
        hydra_overrides = list(self.config.hydra.overrides.hydra)  # what load_sweep_config puts before each job
        compose_jobs(self.config.hydra.job.config_name, [[*hydra_overrides, *job] for job in batch])
