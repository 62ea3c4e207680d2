"""MNIST without the real data: tiny idx files in a temp dir, loaded through the real loader (torchvision)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import CPU, digit_images, write_idx
from PIL import Image, ImageDraw

from rnnlab.errors import ConfigError
from rnnlab.runner.predict import predict_files
from rnnlab.runner.run import run
from rnnlab.tasks.base import seeded
from rnnlab.tasks.mnist import FILES, MEAN, MNIST, load_mnist, load_photo, prepare_digit, stratified_split

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def mnist_root(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    train_labels, test_labels = np.arange(300) % 10, rng.integers(0, 10, 100)
    write_idx(raw / FILES[0], digit_images(train_labels, rng))
    write_idx(raw / FILES[1], train_labels)
    write_idx(raw / FILES[2], digit_images(test_labels, rng))
    write_idx(raw / FILES[3], test_labels)
    load_mnist.cache_clear()
    return tmp_path


def mnist(root, **kwargs) -> MNIST:
    options = dict(
        root=str(root), download=False, layout="rows", permute=False, val_size=50, test_size=100, stop_window=0
    )
    return MNIST(**{**options, **kwargs})


def test_the_real_loader_reads_idx_files_and_splits_by_class(mnist_root):
    task = mnist(mnist_root)
    val, test = task.validation_set(CPU), task.test_sets(CPU)["all"]
    assert val.x.shape == (50, 28, 28) and test.x.shape == (100, 28, 28)
    assert torch.bincount(val.y, minlength=10).tolist() == [5] * 10  # stratified: every class keeps its share
    assert (val.lengths == 28).all()
    raw = load_mnist(str(mnist_root), False)[0].float() / 255
    assert abs(float(task._split("train", CPU)[0].mean()) - float((raw.mean() - MEAN) / 0.3081)) < 0.05


def test_stratified_split_is_exact_and_disjoint():
    labels = torch.tensor([0] * 600 + [1] * 300 + [2] * 100)
    train, val = stratified_split(labels, 100, seed=1)
    assert torch.bincount(labels[val]).tolist() == [60, 30, 10]
    assert len(set(train.tolist()) | set(val.tolist())) == 1000 and not set(train.tolist()) & set(val.tolist())


@pytest.mark.parametrize(
    "layout,permute,shape", [("rows", False, (28, 28)), ("pixels", False, (784, 1)), ("pixels", True, (784, 1))]
)
def test_layouts_and_permutation(mnist_root, layout, permute, shape):
    task = mnist(mnist_root, layout=layout, permute=permute)
    batch = task.make_batch(8, seeded(0, CPU), CPU)
    assert batch.x.shape[1:] == shape and task.input_size == shape[1]
    plain = mnist(mnist_root).make_batch(8, seeded(0, CPU), CPU)
    torch.testing.assert_close(task.images(batch), mnist(mnist_root).images(plain))  # same images, other order


def test_an_epoch_is_a_permutation_of_the_training_images(mnist_root):
    task = mnist(mnist_root)
    generator = seeded(0, CPU)
    seen = torch.cat([task.make_batch(50, generator, CPU).x for _ in range(5)])  # 250 training images
    everything = task._split("train", CPU)[0]
    key = lambda t: sorted(t.flatten(1).sum(1).tolist())  # noqa: E731 - the noise makes every image unique
    assert key(seen) == pytest.approx(key(everything))
    task.make_batch(50, generator, CPU)  # into the second epoch
    state = task.state_dict()
    following = task.make_batch(50, generator, CPU)
    task.load_state_dict(state)  # what resume does: the epoch's order and position come back
    assert torch.equal(task.make_batch(50, generator, CPU).x, following.x)


def test_missing_files_name_the_place_to_put_them(tmp_path):
    load_mnist.cache_clear()
    with pytest.raises(ConfigError, match=r"MNIST files missing in .*MNIST/raw/"):
        mnist(tmp_path).validation_set(CPU)


def test_truncated_files_are_reported_as_corrupt(mnist_root):
    raw = mnist_root / "MNIST" / "raw" / FILES[0]
    raw.write_bytes(raw.read_bytes()[:5000])
    load_mnist.cache_clear()
    with pytest.raises(ConfigError, match="corrupt or truncated"):
        mnist(mnist_root).validation_set(CPU)


def test_a_tiny_mnist_run_learns_and_writes_its_reports(tiny_config, mnist_root, tmp_path):
    cfg = tiny_config(
        "task=mnist",
        f"task.root={mnist_root}",
        "task.download=false",
        "task.val_size=50",
        "task.test_size=100",
        "model.hidden_size=16",
        "trainer.max_steps=80",
        "trainer.batch_size=32",
        "optimizer.lr=0.01",
    )
    report = run(cfg, tmp_path / "run")
    assert 0.3 < report["test"]["acc"] <= 1.0  # chance is 0.1
    assert set(report["per_class_accuracy"]) == {str(c) for c in range(10)}
    assert sum(map(sum, report["confusion_matrix"])) == 100
    assert (tmp_path / "run" / "confusion_matrix.png").exists()


def draw_digit() -> Image.Image:
    """A handwritten-looking 7 on black, MNIST style."""
    image = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(image).line([(7, 7), (21, 7), (12, 23)], fill=255, width=3)
    return image


def photo_of(digit: Image.Image, path: Path) -> None:
    """The digit large, off-centre, dark ink on light paper, saved as JPG."""
    page = Image.new("L", (240, 180), 230)
    page.paste(
        Image.eval(digit.resize((112, 112), Image.Resampling.BILINEAR), lambda v: 230 - v * 200 // 255), (20, 50)
    )
    page.save(path, quality=90)


def test_a_photo_is_prepared_like_an_mnist_digit(tmp_path):
    reference = prepare_digit(draw_digit())
    photo_of(draw_digit(), tmp_path / "seven.jpg")
    prepared = prepare_digit(Image.open(tmp_path / "seven.jpg"))
    assert prepared.shape == (28, 28) and prepared.max() <= 1.0
    ys, xs = np.indices(prepared.shape)
    assert abs((ys * prepared).sum() / prepared.sum() - 14) < 1 and abs((xs * prepared).sum() / prepared.sum() - 14) < 1
    rows, cols = np.nonzero(prepared > 0.1)
    assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21  # fits the 20x20 box
    assert np.corrcoef(prepared.ravel(), reference.ravel())[0, 1] > 0.9
    assert prepared[:3].sum() == 0 and prepared[:, :3].sum() == 0  # dark background, not paper


def test_rnnlab_predict_predicts_good_files_and_reports_bad_ones(command_here, tiny_config, mnist_root, tmp_path):
    cfg = tiny_config(
        "task=mnist",
        f"task.root={mnist_root}",
        "task.download=false",
        "task.val_size=50",
        "task.test_size=100",
        "model.hidden_size=8",
    )
    run(cfg, tmp_path / "run")
    photos = tmp_path / "photos"
    photos.mkdir()
    photo_of(draw_digit(), photos / "a.jpg")
    Image.open(photos / "a.jpg").save(photos / "b.png")
    (photos / "c.jpg").write_bytes(b"not an image")
    result = command_here(
        "rnnlab-predict", f"checkpoint={tmp_path}/run", f"inputs={photos}", f"out={tmp_path}", cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(photos))]
    assert [Path(line.split()[0]).name for line in lines] == ["a.jpg", "b.png"]
    assert all(0 <= int(line.split()[1]) <= 9 and 0 < float(line.split()[2]) <= 1 for line in lines)
    assert result.stderr.strip() == f"rnnlab-predict: error: {photos}/c.jpg: not a readable image"
    rows = (tmp_path / "predictions.csv").read_text().splitlines()
    assert rows[0] == "file,digit,probability,error" and len(rows) == 4

    other = tiny_config("task=binary_addition")
    run(other, tmp_path / "addition")
    result = command_here("rnnlab-predict", f"checkpoint={tmp_path}/addition", f"inputs={photos}", cwd=tmp_path)
    assert result.returncode == 2 and "needs a run of the mnist task" in result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "MNIST" / "raw").is_dir(), reason="real MNIST not found in ../shared/data")
def test_real_mnist_trains_briefly(tiny_config, tmp_path):
    cfg = tiny_config(
        "task=mnist",
        f"task.root={SHARED}",
        "task.download=false",
        "task.val_size=10000",
        "task.test_size=10000",
        "trainer.max_steps=200",
    )
    report = run(cfg, tmp_path)
    assert report["test"]["acc"] > 0.9 and report["test"]["n"] == 10000


def test_sequences_seen_counts_what_short_batches_hold(tiny_config, mnist_root, tmp_path):
    """Ten training images and batches of 64: every batch holds the ten, and that is what the report counts."""
    cfg = tiny_config(
        "task=mnist",
        f"task.root={mnist_root}",
        "task.download=false",
        "task.val_size=290",
        "trainer.batch_size=64",
        "trainer.max_steps=5",
        "model.hidden_size=4",
    )
    report = run(cfg, tmp_path)
    assert report["train"]["steps"] == 5 and report["train"]["sequences_seen"] == 50


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.flatten(), b.flatten())[0, 1])


def test_photos_stored_sideways_with_an_exif_tag_are_turned_upright(tmp_path):
    photo_of(draw_digit(), tmp_path / "upright.jpg")
    upright = load_photo(tmp_path / "upright.jpg")
    for orientation, turn in (
        (6, Image.Transpose.ROTATE_90),
        (8, Image.Transpose.ROTATE_270),
        (3, Image.Transpose.ROTATE_180),
    ):
        # what a phone does: pixels stored turned, with the tag that says how to turn them back
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.open(tmp_path / "upright.jpg").transpose(turn).save(
            tmp_path / f"tagged{orientation}.jpg", exif=exif, quality=95
        )
        assert _correlation(load_photo(tmp_path / f"tagged{orientation}.jpg"), upright) > 0.9, orientation


def test_a_dark_digit_on_a_transparent_background_is_read_on_white_paper(tmp_path):
    ink = Image.new("RGBA", (112, 112), (0, 0, 0, 0))  # fully transparent
    ImageDraw.Draw(ink).line([(28, 28), (84, 28), (48, 92)], fill=(20, 20, 20, 255), width=12)
    ink.save(tmp_path / "seven.png")
    assert _correlation(load_photo(tmp_path / "seven.png"), prepare_digit(draw_digit())) > 0.8


def test_an_image_too_large_to_open_is_one_error_and_the_others_are_predicted(
    tiny_config, mnist_root, tmp_path, monkeypatch
):
    cfg = tiny_config(
        "task=mnist", f"task.root={mnist_root}", "task.download=false", "task.val_size=50", "model.hidden_size=4"
    )
    run(cfg, tmp_path / "run")
    photo_of(draw_digit(), tmp_path / "small.jpg")
    Image.new("L", (400, 400), 200).save(tmp_path / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50_000)  # PIL refuses images over twice this: 400 x 400 is
    results = predict_files(tmp_path / "run", [tmp_path / "huge.png", tmp_path / "small.jpg"], CPU)
    assert results[0].error == "too large to open (over 50,000 pixels)" and results[0].digit is None
    assert results[1].error is None and 0 <= results[1].digit <= 9


def test_sequential_mnist_names_its_published_anchor_for_a_comparison(tiny_mnist):
    assert "98.9%" in mnist(tiny_mnist, layout="pixels").published["lstm"]
    assert "95.11%" in mnist(tiny_mnist, layout="pixels", permute=True).published["lstm"]
    assert mnist(tiny_mnist).published == {}  # rows: no published anchor at this size
