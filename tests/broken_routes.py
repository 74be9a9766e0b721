"""A pytest plugin that plants faults in chapter 22's routes out of Keras, for its self-test.

Loaded with `-p broken_routes`, before the chapter is imported, it adds five routes to
keras_rnn_spec.exporting.ROUTES, each the SavedModel's `serve` (a tuple in Keras' order, exact) or its
`serving_default` signature (a dict keyed output_k) whose load code is broken once, after it has
bound Keras' `run`:

- serve_permuted: the outputs come back in reverse order;
- serve_with_memory: a state kept between calls: each call adds 0.1 for every call before it;
- serve_refusing: loading the artifact raises;
- serve_rounded: every number comes back 1e-3 off, as from a runtime computing at lower precision;
- signature_renamed: the k-th key holds the (k+1)-th output (the last key the first output).

It also replaces keras_rnn_spec.exporting.openvino_load_code, which the f32 claim calls (the openvino
route keeps Keras' own): compiled with the configuration asked for, its numbers come back 1e-3 off, as
from a runtime that computes at a lower precision than f32, on whatever CPU it runs.
"""

from dataclasses import replace

from keras_rnn_spec import exporting

SERVE = next(route for route in exporting.ROUTES if route.name == "saved_model-serve")
SIGNATURE = next(route for route in exporting.ROUTES if route.name == "saved_model-serving_default")
OPENVINO_LOAD_CODE = exporting.openvino_load_code


def broken(load_code: str, breaking: str) -> str:
    """`load_code`, then `breaking`, which reads the route's own run as `route_run`."""
    return f"{load_code}\nroute_run = run\n{breaking}"


PERMUTED = "def run(inputs):\n    return route_run(inputs)[::-1]"
WITH_MEMORY = """calls = []
def run(inputs):
    returned = [array + 0.1 * len(calls) for array in route_run(inputs)]
    calls.append(inputs)
    return returned"""
OFF = "def run(inputs):\n    return [array + 1e-3 for array in route_run(inputs)]"
# The keys sorted (output_0, output_1, ...) with the values moved one place: the k-th key holds the (k+1)-th output.
RENAMED = """def run(inputs):
    returned = route_run(inputs)
    order = sorted(range(len(names)), key=names.__getitem__)
    names[:] = [names[k] for k in order]
    by_key = [returned[k] for k in order]
    return by_key[1:] + by_key[:1]"""

exporting.ROUTES += [
    replace(SERVE, name="serve_permuted", load_code=broken(SERVE.load_code, PERMUTED)),
    replace(SERVE, name="serve_with_memory", load_code=broken(SERVE.load_code, WITH_MEMORY)),
    replace(SERVE, name="serve_refusing", load_code="raise RuntimeError('planted: the artifact cannot be loaded')"),
    replace(SERVE, name="serve_rounded", load_code=broken(SERVE.load_code, OFF)),
    replace(SIGNATURE, name="signature_renamed", load_code=broken(SIGNATURE.load_code, RENAMED)),
]
exporting.openvino_load_code = lambda config: broken(OPENVINO_LOAD_CODE(config), OFF)
