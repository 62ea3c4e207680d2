"""Char sequence: learn a word or a text by next-character prediction, then regenerate it from its beginning.

    rnnlab task=char_sequence task.text=Acknowledgement model.hidden_size=20
    rnnlab task=char_sequence 'task.text=You are a good guy' model=scratch_rnn optimizer=adagrad
    rnnlab task=char_sequence task.file=poem.txt task.window=64 task.temperature=0.8

The vocabulary is the text's own characters. Training uses teacher forcing: the input is the text, the target the
same text one character later. A text longer than `window` + 1 characters is trained on random windows of it.
The test feeds `prompt` (default: the first character) and lets the model write the rest, greedily or sampled at
`temperature`; report.json gives `test.generated` and `test.exact` (generated == text).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.config import ConfigError
from rnnlab.tasks.base import Batch, Task, abbreviate, seeded

GENERATION_SEED = 3_000_017


class CharSequence(Task):
    name = "char_sequence"
    per_step = True
    step_metric = "char_acc"

    def __init__(
        self, text: str, file: str | None, prompt: str | None, temperature: float, window: int, **common: int
    ) -> None:
        super().__init__(**common)
        if file:
            try:
                text = Path(file).expanduser().read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigError(f"task.file={file}: cannot read it as UTF-8 text ({type(err).__name__})") from None
        if len(text) < 2:
            raise ConfigError(f"task.text={text!r}: needs at least 2 characters to predict one from another")
        self.text = text
        self.vocabulary = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.vocabulary)}
        self.input_size = self.num_classes = len(self.vocabulary)
        self.prompt = text[0] if prompt is None else prompt
        if unknown := sorted(set(self.prompt) - set(self.vocabulary)):
            raise ConfigError(f"task.prompt={self.prompt}: characters {unknown} are not in the text's vocabulary")
        if not self.prompt:
            raise ConfigError("task.prompt= is empty: give at least one character (default: the text's first)")
        self.temperature = temperature
        self.window = min(window, len(text) - 1)
        self.codes = torch.tensor([self.index[c] for c in text])

    def check_model(self, model_cfg) -> None:
        if model_cfg.get("bidirectional", False):
            raise ConfigError(
                "model.bidirectional=true is not allowed for char_sequence: the backward pass would read the very "
                "character the model has to predict"
            )

    def make_batch(
        self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None
    ) -> Batch:
        codes = self.codes.to(device)
        span = self.window + 1
        starts = torch.randint(0, len(codes) - span + 1, (n,), generator=generator, device=device)
        chunks = codes[starts[:, None] + torch.arange(span, device=device)]
        x = F.one_hot(chunks[:, :-1], self.num_classes).float()
        return Batch(x=x, y=chunks[:, 1:], lengths=torch.full((n,), self.window, device=device))

    def steps(self, length: int | None = None) -> int:
        return self.window

    def sets(self, batch_size: int) -> dict[str, tuple[int, int]]:
        windows = (len(self.codes) - self.window - 1) // max(1, self.window // 2) + 1  # as test_sets cuts them
        return {"a training batch": (batch_size, self.window), "the validation set": (windows, self.window),
                "the test set (every window of the text)": (windows, self.window)}

    def test_sets(self, device: torch.device) -> dict[str, Batch]:
        # Every window of the text once (the whole text when it fits one window): teacher-forced accuracy.
        span = self.window + 1
        starts = torch.arange(0, len(self.codes) - span + 1, max(1, self.window // 2))
        chunks = self.codes[starts[:, None] + torch.arange(span)].to(device)
        x = F.one_hot(chunks[:, :-1], self.num_classes).float()
        return {"all": Batch(x=x, y=chunks[:, 1:], lengths=torch.full((len(x),), self.window, device=device))}

    def validation_set(self, device: torch.device) -> Batch:
        return self.test_sets(device)["all"]

    @torch.no_grad()
    def generate(self, model, device: torch.device, length: int | None = None) -> str:
        """The prompt, then `length` characters (default: up to the text's length) written by the model."""
        length = len(self.text) - len(self.prompt) if length is None else length
        generator = seeded(GENERATION_SEED, device)
        codes = torch.tensor([self.index[c] for c in self.prompt], device=device)
        was_training = model.training
        model.eval()
        for _ in range(max(0, length)):
            x = F.one_hot(codes[-self.window :], self.num_classes).float()[None]  # the model's context: one window
            logits = model(x, torch.tensor([x.shape[1]], device=device))[0, -1]
            if self.num_classes == 2 and logits.shape[-1] == 1:  # one sigmoid output
                logits = torch.cat([-logits, logits]) / 2
            if self.temperature > 0:
                probabilities = (logits / self.temperature).softmax(-1)
                code = torch.multinomial(probabilities, 1, generator=generator)
            else:
                code = logits.argmax(-1, keepdim=True)
            codes = torch.cat([codes, code])
        model.train(was_training)
        return "".join(self.vocabulary[i] for i in codes.tolist())

    def extra_tests(self, model, device: torch.device) -> dict:
        generated = self.generate(model, device)
        return {"generated": generated, "exact": generated == self.text}

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        text = "".join(self.vocabulary[c] for c in batch.y[i].tolist())
        pred = "".join(self.vocabulary[c] for c in predictions[i].tolist())
        return f"{'right' if pred == text else 'WRONG'} | next characters: predicted {abbreviate(pred)!r} true {abbreviate(text)!r}"
