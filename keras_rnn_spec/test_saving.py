"""Chapter 20: saving and loading. A model saved as .keras and loaded back keeps the flags and the numbers.

Source: the Keras saving guide (`model.save("name.keras")`, `keras.models.load_model`: the file
holds the architecture, the layers' configuration and the weights) and the layers' get_config,
which lists return_sequences and return_state among the constructor arguments it records.

Saving is slow, so one model per layer holds it in every configuration (the four flag combinations
side by side on one Input) and is saved and loaded once.
"""

import functools

import pytest

from keras_rnn_spec.cases import WrittenCase, reproduced_by
from keras_rnn_spec.catalogue import FLAGS
from keras_rnn_spec.observe import Case, Dims, data_code, inputs_for, seeding_code, set_seeded_weights
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.subject import as_list, keras

DIMS = Dims(batch=2, timesteps=4, features=3, units=5)  # short: saving does not depend on the length


def layer_name(layer, flags) -> str:
    """The name the layer gets in the saved model: lstm_sequences_state."""
    return f"{layer}_{flags}".lower().replace("-", "_")


def round_trip(layer, directory) -> dict:
    """The layer's model with every configuration, its outputs and configs, and the same after a .keras round trip."""
    inputs = keras.Input(shape=(DIMS.timesteps, DIMS.features))
    made, outputs = {}, {}
    for flags in FLAGS:
        name = layer_name(layer, flags)
        made[name] = layer.layer_class(DIMS.units, name=name, **layer.options, **flags.kwargs())
        returned = made[name](inputs)
        outputs[name] = list(returned) if isinstance(returned, (list, tuple)) else returned
        set_seeded_weights(made[name], Case(layer, flags, "call", DIMS))
    model = keras.Model(inputs, outputs)

    path = directory / "every_configuration.keras"
    model.save(path)
    loaded = keras.models.load_model(path)

    x = inputs_for(DIMS)
    before, after = model(x), loaded(x)
    return {
        "path": path,
        "outputs before": {name: as_list(before[name]) for name in made},
        "outputs after": {name: as_list(after[name]) for name in made},
        "config before": {name: rnn.get_config() for name, rnn in made.items()},
        "config after": {name: loaded.get_layer(name).get_config() for name in made},
    }


@pytest.fixture(scope="module")
def saved_and_loaded(tmp_path_factory):
    """round_trip(layer), once per layer: one model per layer, so that a layer that cannot be saved or
    loaded fails its own claims and no other layer's."""
    return functools.cache(lambda layer: round_trip(layer, tmp_path_factory.mktemp("saving")))


def round_trip_case(layer, flags) -> WrittenCase:
    """The round trip of the layer in this configuration alone: the same weights and data, so the same numbers."""
    made = layer.constructor_code(DIMS.units, flags)
    code = [
        "import tempfile",
        data_code(DIMS.input_shape),
        f"layer = {made}",
        f"inputs = keras.Input(shape={DIMS.input_shape[1:]})",
        "model = keras.Model(inputs, layer(inputs))",
        seeding_code(),
        'path = f"{tempfile.mkdtemp()}/model.keras"',
        "model.save(path)",
        "loaded = keras.models.load_model(path)",
        "before, after = model(x), loaded(x)",
        "print(before, after, sep='\\n\\n')",
    ]
    description = (
        f"{made} in a Model on Input(shape={DIMS.input_shape[1:]}), saved as .keras and loaded, run on x "
        f"{DIMS.input_shape}, seeded uniform weights (the claim saves the four configurations in one model)"
    )
    return WrittenCase(layer, description, "\n".join(code))


configurations = over_layers("layer, flags", lambda selected: [(layer, flags) for layer in selected.layers for flags in FLAGS])


@configurations
@reproduced_by(round_trip_case)
def test_loading_keeps_return_sequences_and_return_state(layer, flags, saved_and_loaded, verify):
    """After saving to .keras and loading, each layer has its return_sequences and return_state: get_config round-trips.

    ```python
    config = loaded.get_layer(layer.name).get_config()
    assert config["return_sequences"] is False and config["return_state"] is False  # as made
    assert config == layer.get_config()
    ```
    """
    name, saved = layer_name(layer, flags), saved_and_loaded(layer)
    before, after = saved["config before"][name], saved["config after"][name]
    where = f"layer {name} of {saved['path'].name} after keras.models.load_model"
    for flag, value in flags.kwargs().items():
        verify.holds(after.get(flag) == value, what=f"{flag} of {where}", details=f"{after.get(flag)!r}, made with {value!r}")
    changed = {key: (before.get(key), after.get(key)) for key in before | after if before.get(key) != after.get(key)}
    verify.holds(not changed, what=f"get_config of {where}", details=f"entries changed (before, after): {changed}")


@configurations
@reproduced_by(round_trip_case)
def test_the_loaded_model_returns_exactly_the_same_numbers(layer, flags, saved_and_loaded, verify):
    """The loaded model returns the same tensors as the saved one, with exactly the same numbers.

    The same weights (written and read as float32) and the same operations: exact equality.

    ```python
    np.testing.assert_array_equal(after, before)
    ```
    """
    name, saved = layer_name(layer, flags), saved_and_loaded(layer)
    before, after = saved["outputs before"][name], saved["outputs after"][name]
    what = f"outputs of layer {name} after keras.models.load_model"
    verify.holds(len(after) == len(before), what=what, details=f"{len(after)} tensors after loading, {len(before)} before")
    for index, (got, want) in enumerate(zip(after, before, strict=True)):
        verify.equal(got, want, what=f"tensor {index} of the {what}, against before saving")
