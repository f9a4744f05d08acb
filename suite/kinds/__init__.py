"""Task kinds: what a task's model does (classify, embed, generate), and so how its accuracy is scored,
how it is timed and which record blocks and columns it fills. One module per kind.

``PLUGINS`` is the one place a built-in kind's metadata is written: its module, the accuracy metric its
records carry (``accuracy.metric``, the ``metric:`` of a task file) and the line ``edgeq list kinds`` prints.
A third-party kind is an entry point of the group ``edgeq.kinds`` (a :class:`suite.kinds.base.TaskKind`),
with its fields declared in ``suite.records.fields``. The run side imports these modules: they import the
measuring code (numpy, LoadGen, the runtime's session) inside their functions, never torch or the zoo.
"""

# name: (module:attr relative to this package, metadata)
PLUGINS: dict[str, tuple[str, dict[str, object]]] = {
    "classifier": (
        "classifier:Classifier",
        dict(summary="image and tabular classifiers: deployed top-1/top-5, LoadGen SingleStream + Offline"),
    ),
    "text-encoder": (
        "encoder:TextEncoder",
        dict(summary="text encoders with a classification head: top-1 and the embedding cosine to fp32 in one pass"),
    ),
    "causal-lm": (
        "causal_lm:CausalLm",
        dict(summary="causal language models: how well they predict held-out text, time to first token, decode rate"),
    ),
}
