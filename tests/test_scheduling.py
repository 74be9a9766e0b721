"""Self-tests of how a run of the whole spec is split over xdist workers (keras_rnn_spec/plugin.py,
keras_rnn_spec/scheduling.py)."""

import pytest

pytest.importorskip("xdist", reason="the split needs pytest-xdist, which requirements-suite.txt installs")

from keras_rnn_spec.scheduling import scope_of  # noqa: E402

LAYERS = ["SimpleRNN", "GRU", "LSTM"]
SCOPES = [
    ("keras_rnn_spec/test_export.py::test_x[saved_model-serve-LSTM-state]", "test_export.py::saved_model"),
    ("keras_rnn_spec/test_export.py::test_x[saved_model-serving_default-GRU-default]", "test_export.py::saved_model"),
    ("keras_rnn_spec/test_export.py::test_x[onnx-Bidirectional(LSTM)-state]", "test_export.py::onnx"),
    ("keras_rnn_spec/test_export.py::test_x[litert-details-LSTM-state]", "test_export.py::isolated"),
    ("keras_rnn_spec/test_export.py::test_x[tflite_converter-signature-GRU-state]", "test_export.py::isolated"),
    ("keras_rnn_spec/test_flags.py::test_x[GRU-sequences-state-predict]", "layer GRU"),
    ("test_masking.py::test_x[right-LSTM-sequences]", "layer LSTM"),
    ("keras_rnn_spec/test_convlstm.py::test_x[ConvLSTM2D-sequences]", "test_convlstm.py"),
    ("keras_rnn_spec/test_models.py::test_without_parameters", "test_models.py"),
]


@pytest.mark.parametrize(("nodeid", "scope"), SCOPES, ids=[scope for _, scope in SCOPES])
def test_a_test_is_scoped_by_its_export_its_layer_or_its_chapter(nodeid, scope):
    """Chapter 22's tests go with their export (the TF Lite conversions together), another test with the
    first layer under test its id names, and any other with its chapter."""
    assert scope_of(nodeid, LAYERS) == scope


def test_the_default_run_goes_over_two_workers_with_ids_unchanged(default_run):
    """The default run goes over two workers, and its test ids are the spec's own (no scope suffix)."""
    assert default_run.workers == {"gw0", "gw1"}
    assert all("@" not in result.nodeid for result in default_run.results)
