"""A pytest plugin that plants faults in chapter 22's routes out of Keras, for its self-test.

Loaded with `-p broken_routes`, before the chapter is imported, it adds five routes to
keras_rnn_spec.exporting.ROUTES, each the SavedModel's `serve` (a tuple in Keras' order, exact) or its
`serving_default` signature (a dict keyed output_k) broken once:

- serve_permuted: the outputs come back in reverse order;
- serve_with_memory: a state kept between calls: each call adds 0.1 for every call before it;
- serve_refusing: loading the artifact raises;
- serve_rounded: every number comes back 1e-3 off, as from a runtime computing at lower precision;
- signature_renamed: the k-th key holds the (k+1)-th output (the last key the first output).

It also replaces keras_rnn_spec.exporting.load_openvino, the loader the f32 claim calls (the openvino
route keeps Keras' own): compiled with the configuration asked for, its numbers come back 1e-3 off, as
from a runtime that computes at a lower precision than f32, on whatever CPU it runs.
"""

from dataclasses import replace

from keras_rnn_spec import exporting

SERVE = next(route for route in exporting.ROUTES if route.name == "saved_model-serve")
SIGNATURE = next(route for route in exporting.ROUTES if route.name == "saved_model-serving_default")
LOAD_OPENVINO = exporting.load_openvino


def permuted(path):
    loaded = SERVE.load(path)
    return exporting.Loaded(loaded.inputs, lambda arrays: loaded.run(arrays)[::-1])


def with_memory(path):
    loaded = SERVE.load(path)
    calls = []

    def run(arrays):
        returned = [(names, array + 0.1 * len(calls)) for names, array in loaded.run(arrays)]
        calls.append(arrays)
        return returned

    return exporting.Loaded(loaded.inputs, run)


def refusing(path):
    raise RuntimeError(f"planted: {path.name} cannot be loaded")


def off(loaded):
    """`loaded` returning every number 1e-3 off."""
    return exporting.Loaded(loaded.inputs, lambda arrays: [(names, array + 1e-3) for names, array in loaded.run(arrays)])


def rounded(path):
    return off(SERVE.load(path))


def openvino_off(path, config=None):
    return off(LOAD_OPENVINO(path, config))


def renamed(path):
    loaded = SIGNATURE.load(path)

    def run(arrays):
        returned = sorted(loaded.run(arrays), key=lambda listed: listed[0])  # output_0, output_1, ...
        keys = [names for names, _ in returned]
        return list(zip(keys, [array for _, array in returned[1:] + returned[:1]]))

    return exporting.Loaded(loaded.inputs, run)


exporting.ROUTES += [
    replace(SERVE, name="serve_permuted", load=permuted),
    replace(SERVE, name="serve_with_memory", load=with_memory),
    replace(SERVE, name="serve_refusing", load=refusing),
    replace(SERVE, name="serve_rounded", load=rounded),
    replace(SIGNATURE, name="signature_renamed", load=renamed),
]
exporting.load_openvino = openvino_off
