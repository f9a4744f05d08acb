"""Image datasets on real images (the foolbox wheel's ImageNet / CIFAR-10 / MNIST samples): preprocessing
arithmetic, the three class-index rules, flat folders with a labels file, calibration splits, and the
one-line errors for labels outside the model's classes, wrong shapes and unset environment variables."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from suite.config.schemas import InputSpec, PreprocessSpec, TaskConfig
from suite.data.base import load_splits
from suite.data.preprocess import center_crop_box, make_preprocessor, resized_size
from suite.errors import BadInput, MissingEnv
from suite.registry import datasets

FOOLBOX = Path(list(importlib.util.find_spec("foolbox").submodule_search_locations)[0]) / "data"
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def samples(prefix: str) -> list[Path]:
    return sorted(FOOLBOX.glob(f"{prefix}_*"))


def label_of(path: Path) -> int:
    return int(path.stem.rsplit("_", 1)[1])


def task(tmp_path: Path, dataset: dict, **extra) -> TaskConfig:
    cfg = TaskConfig.model_validate(
        {
            "name": "t",
            "model": {"source": "onnx", "name": "m", "path": "m.onnx"},
            "dataset": dataset,
            "input": extra.pop("input", {"shape": [3, 32, 32], "layout": "NCHW"}),
            "num_classes": extra.pop("num_classes", 10),
            **extra,
        }
    )
    cfg._source_dir = tmp_path
    return cfg


def splits_of(cfg: TaskConfig):
    return load_splits(datasets.get(cfg.dataset.name), cfg)


# --------------------------------------------------------------------------------- preprocessing
def test_resize_and_crop_follow_torchvision_arithmetic() -> None:
    # torchvision Resize(256) on 500x375 (w x h): shorter side -> 256, longer int(256 * 500 / 375) = 341
    assert resized_size(500, 375, 256) == (341, 256)
    assert resized_size(375, 500, 256) == (256, 341)
    assert resized_size(683, 1024, 256) == (256, 383)
    assert resized_size(640, 480, [224, 200]) == (200, 224)  # exact [h, w]
    # CenterCrop(224) on 341x256: left = round((341 - 224) / 2) = round(58.5) = 58 (banker's), top = 16
    assert center_crop_box(341, 256, 224) == ((0, 0, 0, 0), (58, 16, 282, 240))
    # a crop larger than the image pads with zeros first, as torchvision does
    pad, box = center_crop_box(20, 30, [32, 32])
    assert pad == (6, 1, 6, 1) and box == (0, 0, 32, 32)


def test_imagenet_recipe_on_a_real_image() -> None:
    path = samples("imagenet")[10]  # 1024x683 JPEG
    spec = PreprocessSpec(
        resize=256, interpolation="bilinear", center_crop=224, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]
    )
    x = make_preprocessor(spec, InputSpec(shape=[3, 224, 224], layout="NCHW"))(path)
    # the same steps written out with Pillow and numpy
    img = Image.open(path).convert("RGB")
    w, h = img.size
    new = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    img = img.resize(new, Image.Resampling.BILINEAR)
    left, top = int(round((img.width - 224) / 2)), int(round((img.height - 224) / 2))
    ref = np.asarray(img.crop((left, top, left + 224, top + 224)), dtype=np.float32) / 255.0
    ref = ((ref - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)).transpose(
        2, 0, 1
    )
    assert x.shape == (3, 224, 224) and x.dtype == np.float32
    np.testing.assert_allclose(x, ref, atol=1e-5)
    nhwc = make_preprocessor(spec, InputSpec(shape=[224, 224, 3], layout="NHWC"))(path)
    np.testing.assert_allclose(nhwc, x.transpose(1, 2, 0))
    bgr = make_preprocessor(
        spec.model_copy(update={"channel_order": "BGR", "mean": [0.0], "std": [1.0]}), InputSpec(shape=[3, 224, 224])
    )(path)
    rgb = make_preprocessor(spec.model_copy(update={"mean": [0.0], "std": [1.0]}), InputSpec(shape=[3, 224, 224]))(path)
    np.testing.assert_allclose(bgr, rgb[::-1])


def test_greyscale_and_uint8() -> None:
    path = samples("mnist")[0]
    grey = make_preprocessor(PreprocessSpec(color="L"), InputSpec(shape=[1, 28, 28]))(path)
    assert grey.shape == (1, 28, 28) and 0.0 <= grey.min() and grey.max() <= 1.0
    raw = make_preprocessor(PreprocessSpec(color="L"), InputSpec(shape=[28, 28, 1], layout="NHWC", dtype="uint8"))(path)
    assert raw.dtype == np.uint8 and raw.shape == (28, 28, 1)
    np.testing.assert_allclose(raw[..., 0] / 255.0, grey[0], atol=1e-6)
    with pytest.raises(BadInput, match="uint8"):
        make_preprocessor(PreprocessSpec(scale=1.0), InputSpec(shape=[3, 8, 8], dtype="uint8"))


# -------------------------------------------------------------------------------- class indices
@pytest.fixture()
def cifar_named(tmp_path: Path) -> Path:
    """foolbox's 20 CIFAR-10 samples in class folders named by class word (airplane/, bird/, ...)."""
    root = tmp_path / "cifar"
    for path in samples("cifar10"):
        folder = root / CIFAR10_CLASSES[label_of(path)]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    return root


def test_sorted_rule_is_torchvisions(tmp_path: Path, cifar_named: Path) -> None:
    cfg = task(tmp_path, {"name": "imagefolder", "path": "cifar", "n_calibration": 4})
    s = splits_of(cfg)
    present = sorted({CIFAR10_CLASSES[label_of(p)] for p in samples("cifar10")})
    # the index of a folder is its position among the sorted folder names
    from suite.data.imagefolder import scan

    _, files, labels = scan(cfg)
    for f, y in zip(files, labels):
        assert present[y] == f.parent.name
    assert len(s.x_eval) == 16 and len(s.x_cal) == 4 and s.x_eval.shape[1:] == (3, 32, 32)


def test_mapping_rule_with_a_synset_style_list(tmp_path: Path, cifar_named: Path) -> None:
    (tmp_path / "classes.txt").write_text("".join(f"{name} the {name} class\n" for name in CIFAR10_CLASSES))
    cfg = task(
        tmp_path,
        {
            "name": "imagefolder",
            "path": "cifar",
            "n_calibration": 4,
            "options": {"class_index": "mapping", "mapping": "classes.txt"},
        },
    )
    from suite.data.imagefolder import scan

    _, files, labels = scan(cfg)
    assert [int(y) for y in labels] == [label_of(f) for f in files]  # the original CIFAR-10 indices come back


def test_name_rule_and_flat_folder_with_labels_file(tmp_path: Path) -> None:
    by_index = tmp_path / "by_index"
    flat = tmp_path / "flat"
    flat.mkdir()
    lines = []
    for path in samples("cifar10"):
        (by_index / str(label_of(path))).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, by_index / str(label_of(path)) / path.name)
        shutil.copy(path, flat / path.name)
        lines.append(f"{path.name}\t{label_of(path)}")
    (tmp_path / "labels.txt").write_text("\n".join(lines) + "\n")
    from suite.data.imagefolder import scan

    _, files_a, labels_a = scan(
        task(
            tmp_path,
            {"name": "imagefolder", "path": "by_index", "n_calibration": 2, "options": {"class_index": "name"}},
        )
    )
    _, files_b, labels_b = scan(
        task(tmp_path, {"name": "imagefolder", "path": "flat", "n_calibration": 2, "options": {"labels": "labels.txt"}})
    )
    assert {f.name: int(y) for f, y in zip(files_a, labels_a)} == {f.name: int(y) for f, y in zip(files_b, labels_b)}
    assert {int(y) for y in labels_a} == {label_of(p) for p in samples("cifar10")}


def test_bad_folders_give_one_line(tmp_path: Path, cifar_named: Path) -> None:
    with pytest.raises(BadInput, match="class folder 'airplane' is not an integer"):
        splits_of(
            task(
                tmp_path,
                {"name": "imagefolder", "path": "cifar", "n_calibration": 2, "options": {"class_index": "name"}},
            )
        )
    with pytest.raises(BadInput, match=r"label 9 is outside the model's classes 0\.\.4"):
        from suite.data.imagefolder import identity

        flat = tmp_path / "nine" / "9"
        flat.mkdir(parents=True)
        shutil.copy(samples("cifar10")[11], flat)  # cifar10_11_9.png
        identity(
            task(
                tmp_path,
                {"name": "imagefolder", "path": "nine", "n_calibration": 1, "options": {"class_index": "name"}},
                num_classes=5,
            )
        )
    with pytest.raises(BadInput, match="no such folder"):
        splits_of(task(tmp_path, {"name": "imagefolder", "path": "nowhere", "n_calibration": 2}))
    with pytest.raises(BadInput, match=r"gives shape \[3, 24, 24\].*input.shape is \[3, 32, 32\]"):
        splits_of(
            task(tmp_path, {"name": "imagefolder", "path": "cifar", "n_calibration": 2}, preprocess={"center_crop": 24})
        )
    with pytest.raises(BadInput, match="layout mismatch"):
        splits_of(
            task(
                tmp_path,
                {"name": "imagefolder", "path": "cifar", "n_calibration": 2},
                input={"shape": [32, 32, 3], "layout": "NCHW"},
            )
        )


def test_unset_env_var_is_missing_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cifar_named: Path) -> None:
    monkeypatch.delenv("EDGEQ_TEST_DATA", raising=False)
    cfg = task(tmp_path, {"name": "imagefolder", "path": "${EDGEQ_TEST_DATA}/cifar", "n_calibration": 2})
    with pytest.raises(MissingEnv, match="EDGEQ_TEST_DATA"):
        splits_of(cfg)
    monkeypatch.setenv("EDGEQ_TEST_DATA", str(tmp_path))
    assert len(splits_of(cfg).x_eval) == 18


# ----------------------------------------------------------------------------------- splits
def test_calibration_sources(tmp_path: Path, cifar_named: Path) -> None:
    base = {"name": "imagefolder", "path": "cifar", "n_calibration": 5, "seed": 3}
    a, b = splits_of(task(tmp_path, base)), splits_of(task(tmp_path, base))
    np.testing.assert_array_equal(a.x_eval, b.x_eval)  # seeded: the same split every time
    eval_rows = {x.tobytes() for x in a.x_eval}
    assert not eval_rows & {x.tobytes() for x in a.x_cal}  # disjoint
    assert a.identity["calibration"] == {"source": "split", "on_eval": False}
    assert len(a.x_eval) + len(a.x_cal) == 20
    other = splits_of(task(tmp_path, {**base, "seed": 4}))
    assert {x.tobytes() for x in other.x_cal} != {x.tobytes() for x in a.x_cal}

    on_eval = splits_of(task(tmp_path, {**base, "calibration": {"source": "eval"}}))
    assert len(on_eval.x_eval) == 20 and on_eval.identity["calibration"]["on_eval"] is True
    assert {x.tobytes() for x in on_eval.x_cal} <= {x.tobytes() for x in on_eval.x_eval}

    cal_dir = tmp_path / "calib"
    cal_dir.mkdir()
    for path in samples("cifar100")[:8]:
        shutil.copy(path, cal_dir)
    folder = splits_of(task(tmp_path, {**base, "calibration": {"source": "folder", "path": "calib"}}))
    assert len(folder.x_eval) == 20 and len(folder.x_cal) == 5
    assert not {x.tobytes() for x in folder.x_cal} & {x.tobytes() for x in folder.x_eval}
    assert folder.identity["calibration"]["source"] == "folder"
    with pytest.raises(BadInput, match="n_eval: got 30"):
        splits_of(task(tmp_path, {**base, "n_eval": 30}))


def test_samples_folder_reads_labels_from_names(tmp_path: Path) -> None:
    cfg = task(
        tmp_path,
        {
            "name": "samples-folder",
            "path": "data",
            "options": {"package": "foolbox", "prefix": "imagenet"},
            "n_calibration": 20,
            "calibration": {"source": "eval"},
        },
        input={"shape": [3, 64, 64]},
        preprocess={"resize": [64, 64]},
        num_classes=1000,
    )
    s = splits_of(cfg)
    assert sorted(s.y_eval.tolist()) == sorted(label_of(p) for p in samples("imagenet"))
    assert s.identity["package"].startswith("foolbox ")
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(samples("mnist")[0], bad / "digit.png")
    with pytest.raises(BadInput, match=r"not <name>_<index>_<label>"):
        splits_of(
            task(
                tmp_path,
                {"name": "samples-folder", "path": "bad", "n_calibration": 1},
                input={"shape": [1, 28, 28]},
                preprocess={"color": "L"},
            )
        )


def test_npz_and_mnist5k(tmp_path: Path) -> None:
    from suite.data.mnist5k import load as mnist5k

    cfg = task(tmp_path, {"name": "mnist5k", "n_eval": 500, "n_calibration": 100}, input={"shape": [1, 28, 28]})
    s = mnist5k(cfg.dataset, cfg)
    assert s.x_eval.shape == (500, 1, 28, 28) and len(s.x_train) == 4500 and s.identity["n_total"] == 5000
    assert set(np.unique(s.y_train).tolist()) == set(range(10)) and 0.0 <= s.x_eval.min() and s.x_eval.max() <= 1.0

    np.savez(tmp_path / "d.npz", x=s.x_eval, y=s.y_eval)
    npz = splits_of(
        task(
            tmp_path, {"name": "npz", "path": "d.npz", "n_eval": 400, "n_calibration": 50}, input={"shape": [1, 28, 28]}
        )
    )
    assert len(npz.x_eval) == 400 and len(npz.x_cal) == 50
    with pytest.raises(BadInput, match="layout mismatch"):
        splits_of(
            task(
                tmp_path,
                {"name": "npz", "path": "d.npz", "n_calibration": 5},
                input={"shape": [28, 28, 1], "layout": "NHWC"},
            )
        )


def test_validate_checks_options_and_preprocessing_without_files(tmp_path: Path) -> None:
    import yaml

    from suite.job.checks import load_checked_task as load_task

    base = {
        "name": "v",
        "model": {"source": "onnx", "name": "m", "path": "${EDGEQ_UNSET_MODEL}"},
        "dataset": {
            "name": "imagefolder",
            "path": "${EDGEQ_UNSET_DATA}",
            "n_calibration": 4,
            "options": {"class_index": "name"},
        },
        "preprocess": {"resize": 256, "center_crop": 224},
        "input": {"shape": [3, 224, 224]},
        "num_classes": 1000,
    }
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(base))
    load_task(str(path))  # valid without its files or variables
    for edit, message in [
        (
            lambda d: d["dataset"]["options"].update(class_indx="name"),
            r"v\.yaml: dataset\.options\.class_indx: unknown option",
        ),
        (
            lambda d: d["preprocess"].update(center_crop=200),
            r"gives shape \[3, 200, 200\] .* input.shape is \[3, 224, 224\]",
        ),
        (lambda d: d["preprocess"].update(mean=[0.1, 0.2]), r"preprocess\.mean: got 2 values, expected 1 or 3"),
        (lambda d: d["model"].pop("path"), r"model\.path: missing"),
        (lambda d: d["dataset"]["options"].update(class_index="mapping"), r"options\.mapping: missing"),
    ]:
        data = yaml.safe_load(yaml.safe_dump(base))
        edit(data)
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(BadInput, match=message):
            load_task(str(path))


def test_matches_torchvision_transforms_where_torchvision_imports() -> None:
    """Where a torch/torchvision pair imports (not beside this project's pinned CPU torch), compare with
    torchvision's own Resize/CenterCrop/ToTensor/Normalize on every foolbox sample, padding case included."""
    try:
        from torchvision import transforms as T
    except Exception as exc:  # ImportError, or the RuntimeError of a mismatched pair
        pytest.skip(f"torchvision does not import here ({type(exc).__name__}); the README names pairs that do")
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    for interp, mode in (("bilinear", T.InterpolationMode.BILINEAR), ("bicubic", T.InterpolationMode.BICUBIC)):
        for resize, crop in ((256, 224), (20, 32)):
            theirs = T.Compose(
                [T.Resize(resize, interpolation=mode), T.CenterCrop(crop), T.ToTensor(), T.Normalize(mean, std)]
            )
            ours = make_preprocessor(
                PreprocessSpec(resize=resize, interpolation=interp, center_crop=crop, mean=mean, std=std),
                InputSpec(shape=[3, crop, crop]),
            )
            for path in sorted(FOOLBOX.iterdir()):
                np.testing.assert_allclose(ours(path), theirs(Image.open(path).convert("RGB")).numpy(), atol=1e-5)


def test_large_sets_decode_lazily_and_identically(
    tmp_path: Path, cifar_named: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past EAGER_BYTES (ImageNet's 50 000 images) the splits are ImageArrays that decode on access;
    they must hold exactly what the in-memory arrays hold."""
    from suite.data import images

    cfg = task(tmp_path, {"name": "imagefolder", "path": "cifar", "n_calibration": 4})
    eager = splits_of(cfg)
    monkeypatch.setattr(images, "EAGER_BYTES", 0)
    lazy = splits_of(cfg)
    assert isinstance(lazy.x_eval, images.ImageArray) and lazy.x_eval.shape == eager.x_eval.shape
    np.testing.assert_array_equal(lazy.x_eval[:5], eager.x_eval[:5])
    np.testing.assert_array_equal(lazy.x_eval[7], eager.x_eval[7])
    np.testing.assert_array_equal(lazy.x_eval[np.array([3, 1])], eager.x_eval[[3, 1]])
    np.testing.assert_array_equal(np.asarray(lazy.x_cal), eager.x_cal)


def test_digits_read_from_the_wheel_equal_load_digits() -> None:
    """The digits adapter reads the wheel's CSV itself (importing scikit-learn costs seconds): the
    arrays it reads are the ones ``sklearn.datasets.load_digits`` returns."""
    from sklearn.datasets import load_digits

    from suite.data.sklearn_digits import read_digits

    images, labels = read_digits()
    digits = load_digits()
    assert np.array_equal(images, digits.images) and images.dtype == digits.images.dtype
    assert np.array_equal(labels, digits.target) and len(labels) == 1797
