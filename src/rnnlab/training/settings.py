"""The trainer's settings as the loop reads them: the trainer group validated and typed (config.schemas'
TrainerSchema), with what it leaves to the machine resolved once, here: what `trainer.precision=auto` is on this
device. The run's report reads the same object, so it says what the loop did.

    trainer = TrainerSettings.resolve(validate(cfg).trainer, device)
    trainer.max_steps, trainer.precision, trainer.resolved_precision, trainer.autocast  # 2000, 'auto', 'fp32', None
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from rnnlab.config.schemas import TrainerSchema
from rnnlab.training.precision import autocast_dtype


@dataclass
class TrainerSettings(TrainerSchema):
    resolved_precision: str = "fp32"  # what trainer.precision is on this device: fp32, or bf16 (autocast)

    @classmethod
    def resolve(cls, trainer: TrainerSchema, device: torch.device) -> TrainerSettings:
        chosen = "bf16" if autocast_dtype(trainer.precision, device) is not None else "fp32"
        values = {f.name: getattr(trainer, f.name) for f in dataclasses.fields(TrainerSchema)}
        return cls(**values, resolved_precision=chosen)

    @property
    def autocast(self) -> torch.dtype | None:
        """The dtype the training forward pass autocasts to; None: fp32."""
        return torch.bfloat16 if self.resolved_precision == "bf16" else None
