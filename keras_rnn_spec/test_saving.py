"""Chapter 20: saving and loading. A model saved as .keras and loaded back keeps the flags and the numbers.

Source: the Keras saving guide (`model.save("name.keras")`, `keras.models.load_model`: the file
holds the architecture, the layers' configuration and the weights) and the layers' get_config,
which lists return_sequences and return_state among the constructor arguments it records.

Saving is slow, so one model per layer holds it in every configuration (the four flag combinations
side by side on one Input) and is saved and loaded once.
"""

from keras_rnn_spec.cases import WrittenCase, reproduced_by
from keras_rnn_spec.catalogue import FLAGS
from keras_rnn_spec.observe import Dims, data_code, reproduced_once, seeding_code
from keras_rnn_spec.parameters import over_layers
from keras_rnn_spec.subject import as_list

DIMS = Dims(batch=2, timesteps=4, features=3, units=5)  # short: saving does not depend on the length
SAVED = "every_configuration.keras"


def layer_name(layer, flags) -> str:
    """The name the layer gets in the saved model: lstm_sequences_state."""
    return f"{layer}_{flags}".lower().replace("-", "_")


def round_trip_case(layer, flags) -> WrittenCase:
    """The layer in every configuration, side by side in one model with the same seeded weights, saved as
    .keras and loaded; a claim reads the configuration's own layer (named by layer_name)."""
    made = [layer.constructor_code(DIMS.units, each)[:-1] + f", name={layer_name(layer, each)!r})" for each in FLAGS]
    code = [
        "import tempfile",
        data_code(DIMS.input_shape),
        f"inputs = keras.Input(shape={DIMS.input_shape[1:]})",
        "layers = [",
        *(f"    {line}," for line in made),
        "]",
        "model = keras.Model(inputs, {layer.name: layer(inputs) for layer in layers})",
        "for each in layers:  # each the same seeded weights",
        "    " + seeding_code("each"),
        "with tempfile.TemporaryDirectory() as folder:",
        f'    model.save(f"{{folder}}/{SAVED}")',
        f'    loaded = keras.models.load_model(f"{{folder}}/{SAVED}")',
        "before, after = model(x), loaded(x)  # dicts: layer name -> what it returned",
        "print(before, after, sep='\\n\\n')",
    ]
    description = (
        f"{made[FLAGS.index(flags)]} in a Model on Input(shape={DIMS.input_shape[1:]}) with the other three "
        f"configurations, saved as .keras and loaded, run on x {DIMS.input_shape}, seeded uniform weights"
    )
    return WrittenCase(layer, description, "\n".join(code))


configurations = over_layers("layer, flags", lambda selected: [(layer, flags) for layer in selected.layers for flags in FLAGS])


@configurations
@reproduced_by(round_trip_case)
def test_loading_keeps_return_sequences_and_return_state(layer, flags, verify):
    """After saving to .keras and loading, each layer has its return_sequences and return_state: get_config round-trips.

    ```python
    made = layers[0]  # the configuration checked here: the first, with neither flag
    config = loaded.get_layer(made.name).get_config()
    assert config["return_sequences"] is False and config["return_state"] is False  # as made
    assert config == made.get_config()
    ```
    """
    name, saved = layer_name(layer, flags), reproduced_once(round_trip_case(layer, flags))
    before, after = saved["model"].get_layer(name).get_config(), saved["loaded"].get_layer(name).get_config()
    where = f"layer {name} of {SAVED} after keras.models.load_model"
    for flag, value in flags.kwargs().items():
        verify.holds(after.get(flag) == value, what=f"{flag} of {where}", details=f"{after.get(flag)!r}, made with {value!r}")
    changed = {key: (before.get(key), after.get(key)) for key in before | after if before.get(key) != after.get(key)}
    verify.holds(not changed, what=f"get_config of {where}", details=f"entries changed (before, after): {changed}")


@configurations
@reproduced_by(round_trip_case)
def test_the_loaded_model_returns_exactly_the_same_numbers(layer, flags, verify):
    """The loaded model returns the same tensors as the saved one, with exactly the same numbers.

    The same weights (written and read as float32) and the same operations: exact equality.

    ```python
    name = layers[0].name  # the configuration checked here: the first, with neither flag
    np.testing.assert_array_equal(after[name], before[name])
    ```
    """
    name, saved = layer_name(layer, flags), reproduced_once(round_trip_case(layer, flags))
    before, after = as_list(saved["before"][name]), as_list(saved["after"][name])
    what = f"outputs of layer {name} after keras.models.load_model"
    verify.holds(len(after) == len(before), what=what, details=f"{len(after)} tensors after loading, {len(before)} before")
    for index, (got, want) in enumerate(zip(after, before, strict=True)):
        verify.equal(got, want, what=f"tensor {index} of the {what}, against before saving")
