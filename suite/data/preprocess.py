"""Image file -> model input array, as the task's ``preprocess`` block declares (Pillow does the pixels).

The resize and center-crop arithmetic is torchvision's (``transforms.functional.resize`` with an int
size, ``center_crop``), written out here because PyPI's torchvision does not import beside the pinned
CPU torch and the run side must not need torch at all; Pillow does the resampling, as it does inside
torchvision for PIL images. So ``resize: 256, interpolation: bilinear, center_crop: 224, mean/std:
ImageNet`` gives the very tensor torchvision's ImageNet eval transform gives (up to float rounding).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from suite.config.schemas import InputSpec, PreprocessSpec
from suite.errors import BadInput

_RESAMPLE = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3}  # PIL.Image.Resampling values


def resized_size(width: int, height: int, size: int | list[int]) -> tuple[int, int]:
    """(new_width, new_height): torchvision's ``_compute_resized_output_size`` for one int or [h, w]."""
    if isinstance(size, list):
        return int(size[1]), int(size[0])
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def center_crop_box(
    width: int, height: int, crop: int | list[int]
) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """(padding left/top/right/bottom, crop box) exactly as torchvision's ``center_crop``: pad with
    zeros when the crop is larger than the image, then take the rounded centre."""
    ch, cw = (crop, crop) if isinstance(crop, int) else (int(crop[0]), int(crop[1]))
    pad = (
        (cw - width) // 2 if cw > width else 0,
        (ch - height) // 2 if ch > height else 0,
        (cw - width + 1) // 2 if cw > width else 0,
        (ch - height + 1) // 2 if ch > height else 0,
    )
    width, height = width + pad[0] + pad[2], height + pad[1] + pad[3]
    top = int(round((height - ch) / 2.0))
    left = int(round((width - cw) / 2.0))
    return pad, (left, top, left + cw, top + ch)


def output_shape(spec: PreprocessSpec, input_spec: InputSpec) -> list[int] | None:
    """The per-sample shape this preprocessing produces, when it is fixed by a crop or exact resize."""
    size = (
        spec.center_crop if spec.center_crop is not None else (spec.resize if isinstance(spec.resize, list) else None)
    )
    if size is None:
        return None
    h, w = (size, size) if isinstance(size, int) else (size[0], size[1])
    c = 1 if spec.color == "L" else 3
    return [c, h, w] if input_spec.layout == "NCHW" else [h, w, c]


def make_preprocessor(spec: PreprocessSpec, input_spec: InputSpec) -> Callable[[Path], np.ndarray]:
    """A function: image path -> array of ``input.shape`` in ``input.layout`` and ``input.dtype``."""
    channels = 1 if spec.color == "L" else 3
    if input_spec.layout == "NC":
        raise BadInput("input.layout: got 'NC', expected NCHW or NHWC for an image dataset")
    for key in ("mean", "std"):
        values = getattr(spec, key)
        if len(values) not in (1, channels):
            raise BadInput(f"preprocess.{key}: got {len(values)} values, expected 1 or {channels} (color {spec.color})")
    if input_spec.dtype == "uint8":
        touched = {"scale", "mean", "std"} & spec.model_fields_set
        if touched:
            raise BadInput(
                f"preprocess.{sorted(touched)[0]}: input.dtype uint8 feeds raw 0..255 pixels; leave scale/mean/std unset"
            )
    mean = np.asarray(spec.mean, dtype=np.float32).reshape(1, 1, -1)
    std = np.asarray(spec.std, dtype=np.float32).reshape(1, 1, -1)
    scale = np.float32(spec.scale)

    def load(path: Path) -> np.ndarray:
        from PIL import Image, ImageOps, UnidentifiedImageError

        try:
            with Image.open(path) as opened:
                img = opened.convert(spec.color)
        except (UnidentifiedImageError, OSError) as exc:
            raise BadInput(f"{path}: not an image Pillow can read ({str(exc).splitlines()[0]})") from None
        if spec.resize is not None:
            size = resized_size(img.width, img.height, spec.resize)
            if size != img.size:
                img = img.resize(size, _RESAMPLE[spec.interpolation])
        if spec.center_crop is not None:
            pad, box = center_crop_box(img.width, img.height, spec.center_crop)
            if any(pad):
                img = ImageOps.expand(img, border=pad, fill=0)
            img = img.crop(box)
        arr = np.asarray(img)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if spec.channel_order == "BGR" and arr.shape[2] == 3:
            arr = arr[:, :, ::-1]
        if input_spec.dtype == "uint8":
            out = np.ascontiguousarray(arr, dtype=np.uint8)
        else:
            out = (arr.astype(np.float32) * scale - mean) / std
        if input_spec.layout == "NCHW":
            out = out.transpose(2, 0, 1)
        return np.ascontiguousarray(out)

    return load


def check_shape(sample: np.ndarray, input_spec: InputSpec, path: Any) -> None:
    """One clear line when preprocessing does not produce ``input.shape`` (e.g. a missing crop)."""
    if list(sample.shape) != list(input_spec.shape):
        hint = ""
        if sorted(sample.shape) == sorted(input_spec.shape):
            hint = f" (a layout mismatch: preprocessing writes {input_spec.layout}; check input.layout and input.shape)"
        elif len(sample.shape) == 3:
            hint = " (set preprocess.resize / center_crop so every image comes out at input.shape)"
        raise BadInput(
            f"{path}: preprocessing gives shape {list(sample.shape)}, but input.shape is {list(input_spec.shape)}{hint}"
        )
