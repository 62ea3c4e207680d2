"""Char sequence: learn a word or a text by next-character prediction, then regenerate it from its beginning.

    rnnlab task=char_sequence task.text=Acknowledgement model.hidden_size=20
    rnnlab task=char_sequence 'task.text=You are a good guy' model=scratch_rnn optimizer=adagrad
    rnnlab task=char_sequence task.file=poem.txt task.window=64 task.temperature=0.8

The vocabulary is the text's own characters. Training uses teacher forcing: the input is the text, the target the
same text one character later. A text longer than `window` + 1 characters is trained on random windows of it
(truncated backpropagation through time: a 10 MB file costs what a window costs), and validated and tested on at
most 512 windows spread over it.
The test feeds `prompt` (default: the first character) and lets the model write the rest, greedily or sampled at
`temperature`, one character per step with the model's state kept (`task.generate_chars` at most, a progress bar
for long ones); report.json gives `test.generated` and `test.exact` (generated == the text's beginning).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from rnnlab.errors import ConfigError
from rnnlab.protocols import member
from rnnlab.tasks.base import (
    TRAINING_BATCH,
    VALIDATION_SET,
    Batch,
    Task,
    abbreviate,
    seeded,
    user_path,
)

GENERATION_SEED = 3_000_017
EVAL_WINDOWS = 512  # windows a long text is validated and tested on (spread over the whole text)
PROGRESS_FROM = 500  # characters generated: a progress bar from this many on


class CharSequence(Task):
    name = "char_sequence"
    per_step = True
    step_metric = "char_acc"

    def __init__(
        self,
        text: str,
        file: str | None,
        prompt: str | None,
        temperature: float,
        window: int,
        generate_chars: int,
        **common: int,
    ) -> None:
        super().__init__(**common)
        if file:
            try:
                text = Path(user_path(file)).read_text(encoding="utf-8")
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
        self.generate_chars = generate_chars
        self.window = min(window, len(text) - 1)
        self.codes = torch.tensor(list(map(self.index.__getitem__, text)))

    def check_model(self, model_cfg) -> None:
        if model_cfg.get("bidirectional", False):
            raise ConfigError(
                "model.bidirectional=true is not allowed for char_sequence: the backward pass would read the very "
                "character the model has to predict"
            )

    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        codes = self.codes.to(device)
        span = self.window + 1
        starts = torch.randint(0, len(codes) - span + 1, (n,), generator=generator, device=device)
        chunks = codes[starts[:, None] + torch.arange(span, device=device)]
        x = F.one_hot(chunks[:, :-1], self.num_classes).float()
        return Batch(x=x, y=chunks[:, 1:], lengths=torch.full((n,), self.window, device=device))

    def steps(self, length: int | None = None) -> int:
        return self.window

    def _window_starts(self) -> Tensor:
        """Where the test's windows start: every half window, or EVAL_WINDOWS spread evenly over a long text."""
        last = len(self.codes) - self.window - 1
        starts = torch.arange(0, last + 1, max(1, self.window // 2))
        if len(starts) > EVAL_WINDOWS:
            starts = torch.linspace(0, last, EVAL_WINDOWS).round().long()
        return starts

    def sets(self, batch_size: int) -> dict[str, tuple[int, int]]:
        windows = len(self._window_starts())
        return {
            TRAINING_BATCH: (batch_size, self.window),
            VALIDATION_SET: (windows, self.window),
            "the test set (windows of the text)": (windows, self.window),
        }

    def test_sets(self, device: torch.device) -> dict[str, Batch]:
        # Windows over the whole text (the text itself when it fits one window): teacher-forced accuracy.
        chunks = self.codes[self._window_starts()[:, None] + torch.arange(self.window + 1)].to(device)
        x = F.one_hot(chunks[:, :-1], self.num_classes).float()
        return {"all": Batch(x=x, y=chunks[:, 1:], lengths=torch.full((len(x),), self.window, device=device))}

    def validation_set(self, device: torch.device) -> Batch:
        return self.test_sets(device)["all"]

    @torch.no_grad()
    def generate(self, model, device: torch.device, length: int | None = None) -> str:
        """The prompt, then `length` characters (default: the rest of the text, at most task.generate_chars)
        written by the model. The model keeps its state and reads one character per step (model.step), so a
        character costs the same at the end of a long text as at its start."""
        if length is None:
            length = min(len(self.text) - len(self.prompt), self.generate_chars)
        generator = seeded(GENERATION_SEED, device)
        prompt = torch.tensor([self.index[c] for c in self.prompt], device=device)
        was_training = model.training
        model.eval()
        step = member(model, "step") or _rereading(model)
        logits, state = step(F.one_hot(prompt, self.num_classes).float()[None])
        codes = prompt.tolist()
        for _ in tqdm(
            range(max(0, length)),
            desc="generating",
            unit="char",
            leave=False,
            disable=True if length < PROGRESS_FROM else None,
        ):  # None: shown on a terminal only
            last = logits[0, -1]
            if self.num_classes == 2 and last.shape[-1] == 1:  # one sigmoid output
                last = torch.cat([-last, last]) / 2
            if self.temperature > 0:
                code = torch.multinomial((last / self.temperature).softmax(-1), 1, generator=generator)
            else:
                code = last.argmax(-1, keepdim=True)
            codes.append(int(code))
            logits, state = step(F.one_hot(code, self.num_classes).float()[None], state)
        model.train(was_training)
        return "".join(self.vocabulary[i] for i in codes)

    def extra_tests(self, model, device: torch.device) -> dict:
        generated = self.generate(model, device)
        # exact: the generated text is the original (its beginning, when task.generate_chars stops it early)
        return {"generated": generated, "exact": generated == self.text[: len(generated)]}

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        text = "".join(self.vocabulary[c] for c in batch.y[i].tolist())
        pred = "".join(self.vocabulary[c] for c in predictions[i].tolist())
        verdict = "right" if pred == text else "WRONG"
        return f"{verdict} | next characters: predicted {abbreviate(pred)!r} true {abbreviate(text)!r}"


def _rereading(model):
    """model.step for a model without one (a user's own): the text so far is the state, read again whole for each
    new character (quadratic in the length, but any model that reads sequences can write)."""

    def step(x: torch.Tensor, state: torch.Tensor | None = None):
        text = x if state is None else torch.cat([state, x], dim=1)
        lengths = torch.full((1,), text.shape[1], dtype=torch.long, device=text.device)
        return model(text, lengths), text

    return step
