"""Chapter 22: after export. The same tensors, in the same order, with the same numbers, outside Keras.

People who need `return_state` most serve it outside Keras: a SavedModel in TensorFlow Serving, ONNX
Runtime, OpenVINO, LiteRT on a phone. Each route below exports a model, loads the artifact in the
runtime a deployer uses, and reads its outputs as that runtime lists them; the claims are the notes'
claims again, after the model has left Keras. Sources: `Model.export`'s docstring (formats
tf_saved_model, onnx, openvino, litert; how each artifact is loaded), TensorFlow's
`tf.lite.TFLiteConverter.from_keras_model`, tf2onnx's `convert.from_keras`, and the runtimes' own
APIs (ONNX Runtime's `InferenceSession`, OpenVINO's `Core.compile_model`, the ai-edge-litert
`Interpreter` and its signature runner).

A route the subject cannot take (a package it needs is not installed, a converter for another
backend's graphs) is skipped with the reason. A route that exists and fails at export, load or run
fails the first claim, and the others skip with that failure as their reason. Which Keras output a
runtime's output holds is decided by value (`keras_rnn_spec.exporting.IDENTITY_TOLERANCE`), so a claim about
names or order does not fail on precision, which claim 4 checks alone.
"""

import numpy as np
import pytest

from keras_rnn_spec.artifact_cache import PROBLEMS, cache_of
from keras_rnn_spec.exporting import (
    DIMS,
    F32,
    IDENTITY_TOLERANCE,
    OTHER_SIZES,
    Exports,
    answers_to,
    arrays,
    by_name,
    closest,
    expected,
    export_cases,
    first_run,
    held_by,
    holds,
    in_artifact_order,
    in_keras_order,
    keras_names,
    listing,
    loaded_or_skip,
    openvino_load_code,
    openvino_precision,
    reference_dims,
    run_once,
    summary,
)
from keras_rnn_spec.observe import inputs_for
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.report_render import EXPORT_LISTING
from keras_rnn_spec.verify import reference_tolerance

pytestmark = pytest.mark.export  # `pytest -m "not export"` leaves the chapter out: it is most of a run's time

UNKNOWN_SIZES = {"dynamic": (), "fixed batch": ("batch", "timesteps"), "unrolled": ("timesteps",)}  # which are fixed
# serving_default's outputs come from SignatureDef.outputs, a protobuf map: no order is defined, and
# the dict's order was seen to change between two processes loading the same file with the same
# PYTHONHASHSEED (and to stay put within one process), so one run's order would prove nothing.
DICT_WITHOUT_ORDER = (
    "serving_default returns a dict built from the SignatureDef's outputs, a protobuf map, whose order is "
    "undefined (it changes from process to process): read it by key, the previous claim"
)
SIGNATURE_INPUTS_WITHOUT_ORDER = (
    "serving_default takes keyword arguments named after the SignatureDef's inputs, a protobuf map, whose "
    "order is undefined: its inputs have no position (feeding by name is the previous claim)"
)


def exported(keep=lambda case: True):
    """Parametrize `case` with the export cases of the layers under test that `keep` keeps."""
    return over_layers("case", lambda selected: [case for case in export_cases(selected) if keep(case)])


everything = exported()
stateless = exported(lambda c: c.model.kind != "stateful")


@pytest.fixture(scope="session")
def exports(tmp_path_factory, pytestconfig):
    """The run's artifacts, each exported once, under pytest's temporary directory, or kept from an
    earlier run in pytest's cache directory."""
    made = Exports(tmp_path_factory.mktemp("exports"), cache_of(pytestconfig))
    yield made
    made.close()
    pytestconfig.stash[PROBLEMS] = made.cache.problems


@everything
def test_the_model_exports_loads_and_runs(case, exports, verify):
    """The model exports along the route, the artifact loads in its runtime, and it runs on the model's inputs.

    ```python
    assert all(np.isfinite(o).all() for o in outputs)  # exported, loaded, and ran: numbers came back
    ```
    """
    step, outcome = exports.runtime(case)
    if outcome.unavailable:
        pytest.skip(f"{case.route.name} is not available here: {outcome.unavailable}")
    # runtime names the step that failed, and none ("") when the artifact exported and loaded.
    steps = f"the {step} step" if step else "the export and load steps"
    verify.holds(outcome.error is None, what=steps, details=f"raised {summary(outcome.error)}" if outcome.error else "")
    _, _, returned = run_once(exports, case)
    verify.holds(not isinstance(returned, Exception), what="the run step", details=f"raised {summary(returned)}" if isinstance(returned, Exception) else "")
    keras_outputs, names = exports.model(case.model).keras_outputs, case.model.output_names
    held = held_by(returned, keras_outputs, names)
    outputs = [f"{shown} ({' or '.join(holding) or 'none'})" for shown, holding in zip(listing(returned), held, strict=True)]
    inputs = [name or f"#{k}" for k, name in enumerate(outcome.value.inputs)]  # an unnamed input: by its position
    verify.record.append(
        (EXPORT_LISTING, {"route": case.route.name, "model": str(case.model), "keras": names, "keras_inputs": case.model.input_names, "inputs": inputs, "outputs": outputs})
    )


@everything
def test_each_keras_output_is_found_by_its_name(case, exports, verify):
    """By name: the artifact lists as many outputs as Keras returns, and each Keras output is the one output listed under its Keras name.

    ```python
    assert len(outputs) == len(keras_outputs)
    for k, want in enumerate(keras_outputs):  # Keras' k-th output is listed as output_k
        np.testing.assert_allclose(outputs[names.index(f"output_{k}")], want, atol=0.02)
    ```
    """
    built, loaded, returned = first_run(exports, case)
    if returned and all(not names for names, _ in returned):  # none returned: the count below fails
        pytest.skip(f"{case.route.name} returns a tuple: its outputs have no names (their positions are the next claim)")
    keras_outputs = built.keras_outputs
    verify.holds(
        len(returned) == len(keras_outputs),
        what="number of outputs",
        details=f"{len(returned)} listed ({', '.join(listing(returned))}); Keras returns {len(keras_outputs)} ({', '.join(case.model.output_names)})",
    )
    for wanted, name in zip(keras_names(built.model, len(keras_outputs)), case.model.output_names, strict=True):
        found = [(names, array) for names, array in returned if answers_to(names, wanted)]
        verify.holds(
            len(found) == 1,
            what=f"the output named {' or '.join(wanted)} (Keras' {name})",
            details=f"{len(found)} listed under that name; the runtime lists {', '.join(listing(returned))}",
        )
        (held,) = held_by(found, keras_outputs, case.model.output_names)
        verify.holds(name in held, what=f"what {found[0][0][0]} holds", details=f"{held or 'none of Keras outputs'}, not {name}")


@everything
def test_the_kth_listed_output_is_the_kth_keras_output(case, exports, verify):
    """By position: the runtime's k-th output, in its own listing order, is Keras' k-th output.

    ```python
    assert len(outputs) == len(keras_outputs)
    for got, want in zip(outputs, keras_outputs):
        np.testing.assert_allclose(got, want, atol=0.02)
    ```
    """
    built, loaded, returned = first_run(exports, case)
    if not case.route.ordered:
        pytest.skip(DICT_WITHOUT_ORDER)
    keras_outputs, names = built.keras_outputs, case.model.output_names
    held = [holding or ["none"] for holding in held_by(returned, keras_outputs, names)]
    verify.holds(
        len(returned) == len(keras_outputs),
        what="number of outputs",
        details=f"{len(returned)} listed ({', '.join(listing(returned))}); Keras returns {len(keras_outputs)} ({', '.join(names)})",
    )
    for k, name in enumerate(names):
        verify.holds(
            name in held[k],
            what=f"output {k} as the runtime lists it",
            details=f"holds {' or '.join(held[k])}, not {name}; the runtime lists {', '.join(listing(returned))}",
        )


@everything
def test_every_output_matches_the_reference_at_default_settings(case, exports, verify):
    """The numbers: every output matches the float64 reference within float32 rounding, at the runtime's default settings.

    ```python
    from keras_rnn_spec import reference  # the suite's float64 implementation of the documented equations

    expected, _ = reference.simple_rnn(model.get_weights(), x)
    np.testing.assert_allclose(outputs[0], expected[:, -1], atol=4 * 10 * (3 + 5 + 1) * 2**-23)  # 10 steps' rounding
    ```
    """
    built, loaded, returned = first_run(exports, case)
    wanted = expected(case.model, built.weights, built.inputs)
    timesteps = 1 if case.model.kind == "streaming" else DIMS.timesteps
    for name, want in zip(case.model.output_names, wanted, strict=True):
        verify.equal(
            closest(arrays(returned), want),
            want,
            what=f"{name} against the reference (the runtime's output of its shape nearest to it)",
            atol=reference_tolerance(reference_dims(timesteps)),
            why="float32 rounding over T steps",
        )


@exported(lambda c: c.route.name == "openvino")
def test_openvino_at_f32_inference_precision_matches_the_reference(case, exports, verify):
    """OpenVINO compiled with {"INFERENCE_PRECISION_HINT": "f32"} matches the float64 reference within float32 rounding.

    ```python
    from keras_rnn_spec import reference

    at_f32 = openvino.Core().compile_model('model.xml', 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'})
    expected, _ = reference.simple_rnn(model.get_weights(), x)
    np.testing.assert_allclose(at_f32(inputs).to_tuple()[0], expected[:, -1], atol=4 * 10 * (3 + 5 + 1) * 2**-23)
    ```
    """
    built, _ = loaded_or_skip(exports, case)
    at_f32 = exports.load(case, openvino_load_code(F32))
    verify.record.append(("OpenVINO's default CPU inference precision here", openvino_precision()))
    returned = at_f32.run(list(built.inputs))
    for name, want in zip(case.model.output_names, expected(case.model, built.weights, built.inputs), strict=True):
        verify.equal(
            closest(arrays(returned), want),
            want,
            what=f"{name} against the reference at f32",
            atol=reference_tolerance(DIMS),
            why="float32 rounding over T steps",
        )


@exported(lambda c: c.model.kind in UNKNOWN_SIZES)
def test_other_batch_sizes_and_lengths_are_computed_or_refused(case, exports, verify):
    """Other batch sizes and lengths: the artifact computes what the reference does where the Input left them unknown, and computes or refuses them where it fixed them, never returning other numbers.

    ```python
    other = np.random.default_rng(3).normal(size=(4, 7, 3)).astype('float32')  # 4 rows, 7 steps
    np.testing.assert_allclose(run([other])[0], to_numpy(model(other)), atol=0.02)
    ```
    """
    built, loaded, _ = first_run(exports, case)
    fixed = UNKNOWN_SIZES[case.model.kind]
    for batch, timesteps in OTHER_SIZES:
        x = np.random.default_rng(3).normal(size=(batch, timesteps, DIMS.features)).astype("float32")
        changed = [name for name, value, was in (("batch", batch, DIMS.batch), ("timesteps", timesteps, DIMS.timesteps)) if value != was]
        what = f"batch {batch}, {timesteps} timesteps"
        try:
            returned = loaded.run([x])
        except Exception as error:
            refusable = any(name in fixed for name in changed)
            verify.record.append((what, {"refused": summary(error)}))
            verify.holds(refusable, what=what, details=f"refused with {summary(error)}, though the Input left {' and '.join(changed)} unknown")
            continue
        for name, want in zip(case.model.output_names, expected(case.model, built.weights, [x]), strict=True):
            found = [array for _, array in returned if holds(array, [want])]
            verify.holds(
                bool(found),
                what=f"{name} at {what}",
                details=f"no output holds it within {IDENTITY_TOLERANCE}; the runtime returned {', '.join(listing(returned))}",
            )


@stateless
def test_a_second_call_returns_the_same_outputs(case, exports, verify):
    """No hidden state: calling the artifact twice on the same inputs returns the same outputs.

    ```python
    for again, first in zip(run(inputs), outputs):
        np.testing.assert_allclose(again, first, atol=4 * 10 * (3 + 5 + 1) * 2**-23)
    ```
    """
    built, loaded, returned = first_run(exports, case)
    again = loaded.run(in_artifact_order(built.inputs, case.model.input_names, loaded.inputs))
    verify.holds(len(again) == len(returned), what="number of outputs", details=f"{len(again)}, then {len(returned)}")
    for k, ((_, first), (_, second)) in enumerate(zip(returned, again, strict=True)):
        verify.equal(second, first, what=f"output {k} of a later call against the first call", atol=reference_tolerance(DIMS), why="a carried state would differ by far more")


@exported(lambda c: c.model.kind == "stateful")
def test_a_stateful_artifact_carries_its_states_as_keras_does(case, exports, verify):
    """A stateful layer's artifact carries its states from one call to the next, as Keras does: the second call starts where the first ended.

    ```python
    second = run(inputs)  # the artifact's second call
    model(x)
    keras_second = model(x)  # Keras' second call, from the states its first call left
    np.testing.assert_allclose(second[0], to_numpy(keras_second[0]), atol=0.02)
    ```
    """
    built, _ = loaded_or_skip(exports, case)
    fresh = exports.load(case)  # a new load: no claim has called it yet
    first, second = (fresh.run(built.inputs) for _ in range(2))
    from_zeros = expected(case.model, built.weights, built.inputs)
    carried = expected(case.model, built.weights, built.inputs, start=from_zeros[1:])
    for call, returned, want in (("first", first, from_zeros), ("second", second, carried)):
        for name, wanted in zip(case.model.output_names, want, strict=True):
            verify.equal(
                closest(arrays(returned), wanted), wanted, what=f"{name} of the {call} call against the reference", atol=IDENTITY_TOLERANCE,
                why="whether the state is carried, not the precision (claim 4)",
            )


streaming = exported(lambda c: c.model.kind == "streaming")


@streaming
def test_the_one_step_artifact_fed_by_name_reproduces_the_whole_sequence(case, exports, verify):
    """Streaming: the one-step artifact, fed by input name with the states it returned, reproduces the whole-sequence run of the same weights.

    ```python
    states, steps = [np.zeros((2, 5), 'float32') for _ in inputs[1:]], []
    for t in range(10):
        output, *states = run([x[:, t : t + 1], *states])  # the inputs in the model's order
        steps.append(output)
    whole = type(layer).from_config({**layer.get_config(), 'return_sequences': True, 'return_state': False, 'name': 'whole'})
    whole_model = keras.Model(x_all := keras.Input(shape=(None, 3)), whole(x_all))
    whole.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.stack(steps, axis=1), to_numpy(whole_model(x)), atol=4 * 10 * (3 + 5 + 1) * 2**-23)
    ```
    """
    built, loaded, _ = first_run(exports, case)
    x = inputs_for(DIMS)
    states = [np.zeros((DIMS.batch, DIMS.units), "float32") for _ in case.model.layer.state_names]
    count = 1 + len(states)
    steps = []
    for t in range(DIMS.timesteps):
        try:
            returned = loaded.run(by_name([x[:, t : t + 1], *states], case.model.input_names, loaded.inputs))
        except KeyError as missing:
            verify.holds(False, what="feeding the inputs by name", details=str(missing.args[0]))
        output, *states = in_keras_order(built.model, returned, count)[:count]
        steps.append(output)
    from keras_rnn_spec.catalogue import reference_of

    sequence, final = reference_of(case.model.layer)(built.weights, x)
    atol = reference_tolerance(DIMS)
    verify.equal(np.stack(steps, axis=1), sequence, what="the outputs of the steps against the whole sequence", atol=atol, why="float32 rounding over T steps")
    for name, got, want in zip(case.model.layer.state_names, states, final, strict=True):
        verify.equal(got, want, what=f"state {name} after the last step against the whole sequence's", atol=atol, why="float32 rounding over T steps")


@streaming
def test_the_one_step_artifact_fed_by_position_computes_the_same_step(case, exports, verify):
    """Streaming, fed by position: Keras' inputs in Keras' order, given to the artifact's inputs in its listing order, compute the same step.

    ```python
    for got, want in zip(run(inputs), keras_outputs):  # inputs given in Keras' order
        np.testing.assert_allclose(got, want, atol=0.02)
    ```
    """
    built, loaded, _ = first_run(exports, case)
    if not case.route.ordered:
        pytest.skip(SIGNATURE_INPUTS_WITHOUT_ORDER)
    verify.record.append(("inputs as the runtime lists them", {"route": case.route.name, "listed": loaded.inputs, "keras": case.model.input_names}))
    try:
        returned = loaded.run(built.inputs)
    except Exception as error:
        verify.holds(False, what="the run fed by position", details=f"raised {summary(error)}; the artifact lists its inputs as {loaded.inputs}")
    count = len(case.model.output_names)
    got = in_keras_order(built.model, returned, count)
    for name, array, want in zip(case.model.output_names, got, expected(case.model, built.weights, built.inputs), strict=True):
        verify.equal(array, want, what=f"{name} fed by position, against the reference", atol=IDENTITY_TOLERANCE, why="which input is which, not the precision (claim 4)")
