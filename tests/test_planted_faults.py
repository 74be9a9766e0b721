"""Self-tests: the spec goes red when a behaviour breaks, on exactly the claims that behaviour makes.

tests/broken_layers.py holds deliberately broken layers, one or more per claim family, each a
subclass of a Keras layer whose call, get_config, from_config or constructor breaks one behaviour.
The whole spec, as a user runs it (conftest.py, pytest.ini and keras_rnn_spec/ copied into pytester's
directory), runs once on all of them: `SPEC_LAYERS=broken_layers:UNDER_TEST`, in a subprocess. Each
layer's name is in the ids of the tests about it, so each test below reads its own layer's
outcomes, and asserts that the claim tests that failed are exactly those its fault breaks (by test
function), and that all its other tests passed, or skipped for a reason the spec documents.

Every expected set below was derived from what each claim compares, and is explained next to it;
where a run disagreed with the derivation, the reason was found and is written there too. Together
the sets name tests of every chapter module, so removing any chapter from the spec fails at least
one of these tests (test_every_chapter_is_needed_by_a_fault).

Chapters 14, 15 and 17 have claims about Keras' own classes, which run whatever SPEC_LAYERS says:
their faults are planted in Keras itself, each a subclass that replaces a Keras class for the run
(tests/broken_keras.py), in two runs of those chapters alone: a run takes one fault per class, so
that the test ids tell the faults apart. Chapter 22's faults are planted in its routes out of
Keras and in the loader its f32 claim calls (tests/broken_routes.py), in a run of that chapter alone.
"""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import broken_layers
import spec_runs
from claim_coverage import WITHOUT_A_FAULT
from keras_rnn_spec import report_render, subject
from keras_rnn_spec.authors import claim_names

# Each expected set follows from what the claims compare on the default subject; another Keras or
# backend refuses, rounds and fuses differently (keras_rnn_spec/known_differences.toml), and is not derived here.
pytestmark = pytest.mark.skipif(
    (subject.KERAS_MAJOR, subject.backend_name()) != (3, "tensorflow"),
    reason="the planted faults' expected failures are derived for Keras 3 on TensorFlow, the default subject",
)

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent

# How long one run of the spec may take before the self-test gives up on it (seconds).
RUN_TIMEOUT = 900
# In file order even where pytest-randomly is installed: chapter 13 reuses one model per layer across
# its claims, so under a fault that breaks resetting (ResetIgnoredGRU) which claim sees the carried
# state depends on the order (seen with pytest-randomly: two claims swapped places).
RUN_OPTIONS = ("-p", "no:randomly", "-p", "no_shrinking")

# Why the spec may skip a claim for a user's layer (keras_rnn_spec/catalogue.py and the chapters).
DOCUMENTED_SKIPS = (
    "not the layers under test (SPEC_LAYERS=",  # a claim about Keras' own classes
    "names no cell",  # chapter 15 without a cell in the catalogue entry
    "the refusal comes from the layer's own code",  # chapter 21, a layer that no refusal is recorded for
    "has no float64 reference",
    "is not keras_rnn_spec.reference.lstm",  # h = o * tanh(c) needs LSTM's weight layout
    # Chapter 22: a tuple has no names, a signature's dict no order, and a route that failed a step
    # (or is not installed here) skips the claims after it, naming the failure its first claim reports.
    "returns a tuple: its outputs have no names",
    "protobuf map",
    "(the claim 'exports, loads and runs' fails on it)",
    "is not available here:",
)


@dataclass(frozen=True)
class Fault:
    family: str  # the claim family the fault is planted in
    breaks: str  # what the broken layer does
    fails: frozenset  # the claim tests that must fail, as "module::function"


def claims(*names: str) -> frozenset:
    """Claim tests, as 'module::function'."""
    return frozenset(names)


# The claim tests, by chapter module.
NOTEBOOK = "test_notebook.py::test_cell_"
RELATIONS = "test_relations.py::test_"
BIDIRECTIONAL = "test_bidirectional.py::test_"
ALL_OF_BIDIRECTIONAL = claims(
    BIDIRECTIONAL + "returns_the_outputs_then_forward_states_then_backward_states",
    BIDIRECTIONAL + "states_are_the_forward_layers_then_the_backward_layers",
    BIDIRECTIONAL + "output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode",
    BIDIRECTIONAL + "backward_sequence_is_flipped_back_into_input_order",
    BIDIRECTIONAL + "backward_last_output_is_the_backward_final_state",
    BIDIRECTIONAL + "initial_state_first_half_is_forward_second_half_is_backward",
)
# Claims that compare the returned states with the float64 reference, wherever the states come
# back (every chapter that runs return_state=True and checks numbers): a wrong state fails them all.
STATES_AGAINST_THE_REFERENCE = claims(
    "test_reference.py::test_every_returned_tensor_matches_the_float64_reference",
    "test_go_backwards.py::test_every_returned_tensor_matches_the_backward_reference",
    "test_go_backwards.py::test_a_mask_still_marks_input_steps",
    "test_masking.py::test_masked_run_matches_the_reference",
    "test_masking.py::test_masking_and_embedding_mask_like_the_mask_argument",
    BIDIRECTIONAL + "states_are_the_forward_layers_then_the_backward_layers",
    BIDIRECTIONAL + "initial_state_first_half_is_forward_second_half_is_backward",
    "test_state_passing.py::test_initial_state_is_where_the_recurrence_starts",
    "test_implementations.py::test_variant_matches_the_float64_reference",
    "test_stacking.py::test_a_stack_matches_the_reference_chained_layer_after_layer",
    "test_edge_shapes.py::test_one_timestep_is_one_reference_step",
    "test_edge_shapes.py::test_one_model_with_unknown_timesteps_matches_the_reference_at_every_length",
    "test_edge_shapes.py::test_a_batch_of_one_keeps_its_batch_axis_and_matches_the_reference",
    "test_models.py::test_a_functional_model_returns_the_output_then_every_state",
    "test_models.py::test_the_functional_api_feeds_the_output_on_and_returns_the_states",
    "test_bad_input.py::test_as_many_initial_states_as_the_layer_has_are_used",
)

FAULTS = {
    "DroppedCellStateLSTM": Fault(
        "returned structure",
        "returns [output, h] with return_state=True, leaving c out",
        claims(
            # The count and shapes of what comes back.
            "test_structure.py::test_returns_the_output_then_one_tensor_per_state",
            "test_properties.py::test_structure_holds_for_any_sizes",
            "test_properties.py::test_one_model_with_unknown_timesteps_serves_any_length",
            NOTEBOOK + "5_returns_output_then_states",
            NOTEBOOK + "6_returns_sequence_then_states",
            # Unpacking h and c, or reading c, where there is no c.
            NOTEBOOK + "5_c_differs_from_h",
            # State names paired with the returned states, h and c with h alone.
            NOTEBOOK + "6_states_are_cell_5_states",
            "test_flags.py::test_configurations_agree_where_they_overlap",
            "test_masking.py::test_final_output_and_states_come_from_the_last_valid_step",
            "test_masking.py::test_fully_masked_row_returns_zeros",
            "test_masking.py::test_mask_is_passed_on_only_with_return_sequences",
            "test_masking.py::test_zero_output_for_mask_gives_zeros_at_masked_steps",
            RELATIONS + "cell_state_is_not_h",
            RELATIONS + "h_is_bounded_by_tanh_of_c",
            RELATIONS + "h_is_output_gate_times_tanh_of_c",
            "test_state_passing.py::test_two_chunks_with_carried_state_equal_one_pass",  # [h] cannot start an LSTM
            "test_state_passing.py::test_encoder_states_start_the_decoder",
            # The final states against the reference's [h, c]: one of two comes back.
            "test_state_passing.py::test_initial_state_is_where_the_recurrence_starts",
            "test_bad_input.py::test_as_many_initial_states_as_the_layer_has_are_used",
            # Claims that count the returned tensors against the reference's.
            "test_reference.py::test_every_returned_tensor_matches_the_float64_reference",
            "test_go_backwards.py::test_every_returned_tensor_matches_the_backward_reference",
            "test_masking.py::test_masked_run_matches_the_reference",
            "test_masking.py::test_masking_and_embedding_mask_like_the_mask_argument",
            "test_go_backwards.py::test_a_mask_still_marks_input_steps",
            "test_implementations.py::test_variant_matches_the_float64_reference",
            "test_stacking.py::test_a_stack_matches_the_reference_chained_layer_after_layer",
            "test_edge_shapes.py::test_one_timestep_is_one_reference_step",
            "test_edge_shapes.py::test_one_model_with_unknown_timesteps_matches_the_reference_at_every_length",
            "test_edge_shapes.py::test_a_batch_of_one_keeps_its_batch_axis_and_matches_the_reference",
            "test_models.py::test_a_functional_model_returns_the_output_then_every_state",
            "test_models.py::test_the_functional_api_feeds_the_output_on_and_returns_the_states",
            # Bidirectional returns two states where four are expected; the backward h is read
            # past the end. The merged outputs are right.
            BIDIRECTIONAL + "returns_the_outputs_then_forward_states_then_backward_states",
            BIDIRECTIONAL + "states_are_the_forward_layers_then_the_backward_layers",
            BIDIRECTIONAL + "backward_sequence_is_flipped_back_into_input_order",
            BIDIRECTIONAL + "backward_last_output_is_the_backward_final_state",
            BIDIRECTIONAL + "initial_state_first_half_is_forward_second_half_is_backward",
            # Every claim whose values come from executing a case's reproducer (observe.executed) and
            # that reads a return_state=True case, even for the output alone: the reproducer's
            # `output, h, c = ...` (Bidirectional: five names) cannot unpack two tensors, so it
            # raises, as it would for a user who pastes it.
            BIDIRECTIONAL + "output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode",
            "test_determinism.py::test_same_seed_gives_the_same_weights_and_outputs",
            "test_determinism.py::test_another_seed_gives_other_weights",
            "test_go_backwards.py::test_equals_the_forward_layer_on_the_reversed_input",
            "test_go_backwards.py::test_last_step_is_the_default_output_and_h",
            "test_go_backwards.py::test_returned_sequence_is_in_processing_order",
            "test_implementations.py::test_variant_returns_what_the_default_layer_returns",
            "test_masking.py::test_masked_steps_repeat_the_previous_output",
            "test_masking.py::test_zero_output_for_mask_also_zeroes_the_final_output",
            "test_masking.py::test_go_backwards_passes_the_mask_on_in_input_order",  # reads the tensors it returned
            NOTEBOOK + "5_output_is_cell_3_output",
            NOTEBOOK + "5_output_is_h",
            NOTEBOOK + "6_last_row_is_h",
            RELATIONS + "last_step_of_the_sequence_is_h",
            RELATIONS + "last_step_of_the_sequence_is_the_default_output",
            RELATIONS + "output_is_h",
            "test_state_passing.py::test_lstm_initial_cell_state_changes_the_output",  # sequence, h, c = model([x, *given])
        ),
    ),
    "SwappedStatesLSTM": Fault(
        "returned order",
        "returns [output, c, h] with return_state=True",
        STATES_AGAINST_THE_REFERENCE
        | claims(
            NOTEBOOK + "5_output_is_h",
            NOTEBOOK + "6_last_row_is_h",
            RELATIONS + "output_is_h",
            RELATIONS + "last_step_of_the_sequence_is_h",
            RELATIONS + "h_is_bounded_by_tanh_of_c",  # |c| <= |tanh(h)| does not hold
            RELATIONS + "h_is_output_gate_times_tanh_of_c",
            "test_go_backwards.py::test_last_step_is_the_default_output_and_h",
            "test_masking.py::test_zero_output_for_mask_also_zeroes_the_final_output",  # output against "h"
            "test_state_passing.py::test_two_chunks_with_carried_state_equal_one_pass",  # [c, h] handed on
            "test_state_passing.py::test_encoder_states_start_the_decoder",
            BIDIRECTIONAL + "backward_sequence_is_flipped_back_into_input_order",  # backward "h" is c
            BIDIRECTIONAL + "backward_last_output_is_the_backward_final_state",
        ),
    ),
    "KeptTimeAxisSimpleRNN": Fault(
        "returned shapes",
        "with neither flag, returns the output as (batch, 1, units), not (batch, units)",
        # Every claim that reads the output of neither flag: its shape, or its numbers against another
        # tensor of shape (batch, units). The other three configurations return what Keras' do.
        claims(
            NOTEBOOK + "3_default_output_is_batch_by_units",
            NOTEBOOK + "4_last_row_is_cell_3_output",
            NOTEBOOK + "5_output_is_cell_3_output",
            "test_structure.py::test_returns_the_output_then_one_tensor_per_state",
            # Hypothesis' first example is its simplest, flags=FLAGS[0]: neither flag.
            "test_properties.py::test_structure_holds_for_any_sizes",
            "test_properties.py::test_one_model_with_unknown_timesteps_serves_any_length",
            RELATIONS + "last_step_of_the_sequence_is_the_default_output",
            "test_flags.py::test_configurations_agree_where_they_overlap",
            "test_causality.py::test_step_t_is_the_final_output_on_the_prefix",  # the prefix runs with neither flag
            "test_reference.py::test_every_returned_tensor_matches_the_float64_reference",
            "test_go_backwards.py::test_every_returned_tensor_matches_the_backward_reference",
            "test_go_backwards.py::test_last_step_is_the_default_output_and_h",
            "test_masking.py::test_masked_run_matches_the_reference",
            "test_masking.py::test_final_output_and_states_come_from_the_last_valid_step",
            "test_implementations.py::test_variant_matches_the_float64_reference",
            "test_stacking.py::test_a_stack_matches_the_reference_chained_layer_after_layer",  # a top layer with neither flag
            # (batch, 1, units) has three dimensions: the layer stacked on it takes it.
            "test_stacking.py::test_a_layer_on_a_layer_without_return_sequences_raises",
            "test_edge_shapes.py::test_one_timestep_is_one_reference_step",
            "test_edge_shapes.py::test_a_batch_of_one_keeps_its_batch_axis_and_matches_the_reference",
            # Not the claims that compare two runs of this layer, each (batch, 1, units): the unrolled
            # variant against the default, go_backwards against the forward layer on the reversed
            # input, the loaded model against the saved one. Zero timesteps are still refused: Keras'
            # call raises before the output is reshaped.
        ),
    ),
    "LeadingZeroStepGRU": Fault(
        "returned shapes",
        "with return_sequences=True, returns a step of zeros before the sequence: timesteps + 1 steps",
        # Every claim that reads the sequence whole or by its steps' positions; not those that read only
        # its last step, which is still h (the notebook's cell 4 last row, the relations, the flags,
        # the last valid step under a mask, go_backwards' last step, Bidirectional's backward h).
        claims(
            NOTEBOOK + "4_sequences_is_batch_by_steps_by_units",
            NOTEBOOK + "6_returns_sequence_then_states",
            "test_structure.py::test_returns_the_output_then_one_tensor_per_state",
            # Hypothesis' examples (derandomized, the same on every run) include the sequences flags.
            "test_properties.py::test_structure_holds_for_any_sizes",
            "test_properties.py::test_one_model_with_unknown_timesteps_serves_any_length",
            "test_causality.py::test_step_t_is_the_final_output_on_the_prefix",  # step t is the output after t - 1
            "test_reference.py::test_every_returned_tensor_matches_the_float64_reference",
            "test_go_backwards.py::test_every_returned_tensor_matches_the_backward_reference",
            "test_go_backwards.py::test_returned_sequence_is_in_processing_order",
            "test_go_backwards.py::test_a_mask_still_marks_input_steps",
            "test_masking.py::test_masked_run_matches_the_reference",
            "test_masking.py::test_masking_and_embedding_mask_like_the_mask_argument",
            # The mask's step t is the sequence's step t + 1: a masked step is checked against a valid one.
            "test_masking.py::test_masked_steps_repeat_the_previous_output",
            "test_masking.py::test_zero_output_for_mask_gives_zeros_at_masked_steps",  # the mask cannot index the sequence
            # Bidirectional flips the backward sequence, zero step included, into input order: its step
            # 0 is still the backward h and its last step zeros, so the claim about the flip holds.
            BIDIRECTIONAL + "returns_the_outputs_then_forward_states_then_backward_states",
            BIDIRECTIONAL + "output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode",
            BIDIRECTIONAL + "initial_state_first_half_is_forward_second_half_is_backward",
            "test_state_passing.py::test_initial_state_is_where_the_recurrence_starts",
            "test_state_passing.py::test_two_chunks_with_carried_state_equal_one_pass",  # a zero step per chunk
            "test_state_passing.py::test_encoder_states_start_the_decoder",
            "test_stateful.py::test_state_carries_from_one_call_to_the_next",
            "test_stateful.py::test_state_carries_between_batches_of_one_predict",
            "test_implementations.py::test_variant_matches_the_float64_reference",
            "test_stacking.py::test_a_stack_matches_the_reference_chained_layer_after_layer",  # the top reads one step more
            "test_edge_shapes.py::test_one_timestep_is_one_reference_step",
            "test_edge_shapes.py::test_one_model_with_unknown_timesteps_matches_the_reference_at_every_length",
            "test_edge_shapes.py::test_a_batch_of_one_keeps_its_batch_axis_and_matches_the_reference",
            "test_models.py::test_a_functional_model_returns_the_output_then_every_state",  # with both flags
            "test_bad_input.py::test_as_many_initial_states_as_the_layer_has_are_used",
            "test_bad_input.py::test_more_initial_states_than_the_layer_has_are_refused_except_by_keras_3_gru",
        ),
    ),
    "StatesUndeclaredGRU": Fault(
        "returned structure (symbolic)",
        "compute_output_shape declares the output alone with return_state=True, so a model built on it drops h",
        # Every claim whose layer with return_state=True is called on a symbolic Input: Keras builds the
        # model's outputs from compute_output_shape, one tensor, and the model returns the output alone
        # (the layer's h is computed, and not mapped to any output). Direct calls return [output, h].
        claims(
            # The notebook's cells run Model(...).predict.
            NOTEBOOK + "5_returns_output_then_states",
            NOTEBOOK + "5_output_is_h",
            NOTEBOOK + "6_returns_sequence_then_states",
            NOTEBOOK + "6_last_row_is_h",
            NOTEBOOK + "6_states_are_cell_5_states",
            # The predict path of the chapters that run both paths.
            "test_structure.py::test_returns_the_output_then_one_tensor_per_state",
            "test_properties.py::test_structure_holds_for_any_sizes",  # the draws that DroppedCellStateLSTM fails
            "test_properties.py::test_one_model_with_unknown_timesteps_serves_any_length",
            RELATIONS + "output_is_h",
            RELATIONS + "last_step_of_the_sequence_is_h",
            "test_flags.py::test_configurations_agree_where_they_overlap",
            "test_reference.py::test_every_returned_tensor_matches_the_float64_reference",
            # Masking and Embedding run in a functional model.
            "test_masking.py::test_masking_and_embedding_mask_like_the_mask_argument",
            "test_masking.py::test_mask_is_passed_on_only_with_return_sequences",
            # Models on Inputs, and the symbolic unpacking output, *states = layer(inputs).
            BIDIRECTIONAL + "initial_state_first_half_is_forward_second_half_is_backward",
            "test_state_passing.py::test_initial_state_is_where_the_recurrence_starts",
            "test_state_passing.py::test_encoder_states_start_the_decoder",
            "test_edge_shapes.py::test_one_model_with_unknown_timesteps_matches_the_reference_at_every_length",
            "test_models.py::test_a_functional_model_returns_the_output_then_every_state",
            "test_models.py::test_the_functional_api_feeds_the_output_on_and_returns_the_states",
            # The Dense after it receives one tensor, and takes it.
            "test_models.py::test_in_a_sequential_model_a_layer_after_a_return_state_layer_is_refused",
            "test_bad_input.py::test_as_many_initial_states_as_the_layer_has_are_used",
            "test_bad_input.py::test_more_initial_states_than_the_layer_has_are_refused_except_by_keras_3_gru",
            # The reproducer of a predict case with return_state=True binds `output, h = model.predict(x)`:
            # the one (2, 5) array it gets unpacks into its two rows, so output and h are rows, not
            # tensors, in the claims that compare the output alone too.
            NOTEBOOK + "5_output_is_cell_3_output",
            RELATIONS + "last_step_of_the_sequence_is_the_default_output",
            # Not the Sequential model ending in it: it returns the output alone, as the functional
            # model it is compared with does. Not saving: the model before and after returns one tensor.
        ),
    ),
    "FirstStepStateGRU": Fault(
        "last step vs h",
        "with both flags, returns as h the output after the first step",
        claims(
            NOTEBOOK + "6_last_row_is_h",
            NOTEBOOK + "6_states_are_cell_5_states",
            RELATIONS + "last_step_of_the_sequence_is_h",
            "test_flags.py::test_configurations_agree_where_they_overlap",  # h of both flags against h of state
            "test_go_backwards.py::test_last_step_is_the_default_output_and_h",
            # Left-padded rows: the first step is masked, so "h" is zeros, not the row's last state.
            "test_masking.py::test_final_output_and_states_come_from_the_last_valid_step",
            "test_state_passing.py::test_two_chunks_with_carried_state_equal_one_pass",
            "test_bad_input.py::test_more_initial_states_than_the_layer_has_are_refused_except_by_keras_3_gru",
            BIDIRECTIONAL + "backward_sequence_is_flipped_back_into_input_order",
        )
        # Every check of h with both flags against the reference, except at one timestep, where
        # the first step is the last; and the claims that only run return_state alone.
        | STATES_AGAINST_THE_REFERENCE
        - claims(
            "test_edge_shapes.py::test_one_timestep_is_one_reference_step",
            "test_models.py::test_the_functional_api_feeds_the_output_on_and_returns_the_states",
        ),
    ),
    "DoubleActivationSimpleRNN": Fault(
        "output vs h",
        "with return_state=True alone, returns tanh(h) as the output",
        claims(
            NOTEBOOK + "5_output_is_h",
            NOTEBOOK + "5_output_is_cell_3_output",
            RELATIONS + "output_is_h",
            RELATIONS + "last_step_of_the_sequence_is_the_default_output",  # the default of both flags is state alone
            "test_flags.py::test_configurations_agree_where_they_overlap",
            "test_reference.py::test_every_returned_tensor_matches_the_float64_reference",
            "test_go_backwards.py::test_every_returned_tensor_matches_the_backward_reference",
            "test_go_backwards.py::test_last_step_is_the_default_output_and_h",
            "test_masking.py::test_masked_run_matches_the_reference",
            "test_masking.py::test_zero_output_for_mask_also_zeroes_the_final_output",
            "test_masking.py::test_final_output_and_states_come_from_the_last_valid_step",
            BIDIRECTIONAL + "output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode",  # the last-output case
            BIDIRECTIONAL + "backward_last_output_is_the_backward_final_state",
            "test_implementations.py::test_variant_matches_the_float64_reference",
            "test_stacking.py::test_a_stack_matches_the_reference_chained_layer_after_layer",
            "test_models.py::test_a_functional_model_returns_the_output_then_every_state",
            "test_models.py::test_the_functional_api_feeds_the_output_on_and_returns_the_states",
        ),
    ),
    "HForCLSTM": Fault(
        "c vs h",
        "returns h where c belongs: [output, h, h]",
        STATES_AGAINST_THE_REFERENCE
        | claims(
            NOTEBOOK + "5_c_differs_from_h",
            RELATIONS + "cell_state_is_not_h",
            RELATIONS + "h_is_bounded_by_tanh_of_c",  # |h| <= |tanh(h)| holds only at 0
            RELATIONS + "h_is_output_gate_times_tanh_of_c",
            "test_state_passing.py::test_two_chunks_with_carried_state_equal_one_pass",  # [h, h] handed on
            "test_state_passing.py::test_encoder_states_start_the_decoder",
        ),
    ),
    "ReversedSequenceGRU": Fault(
        "sequence order",
        "with return_sequences=True, returns the sequence last step first",
        claims(
            NOTEBOOK + "4_last_row_is_cell_3_output",
            NOTEBOOK + "6_last_row_is_h",
            RELATIONS + "last_step_of_the_sequence_is_the_default_output",
            RELATIONS + "last_step_of_the_sequence_is_h",
            "test_flags.py::test_configurations_agree_where_they_overlap",
            "test_causality.py::test_step_t_is_the_final_output_on_the_prefix",
            "test_reference.py::test_every_returned_tensor_matches_the_float64_reference",
            "test_go_backwards.py::test_every_returned_tensor_matches_the_backward_reference",
            "test_go_backwards.py::test_returned_sequence_is_in_processing_order",
            "test_go_backwards.py::test_last_step_is_the_default_output_and_h",
            "test_go_backwards.py::test_a_mask_still_marks_input_steps",
            "test_masking.py::test_masked_run_matches_the_reference",
            "test_masking.py::test_masking_and_embedding_mask_like_the_mask_argument",
            "test_masking.py::test_masked_steps_repeat_the_previous_output",
            "test_masking.py::test_zero_output_for_mask_gives_zeros_at_masked_steps",
            "test_masking.py::test_final_output_and_states_come_from_the_last_valid_step",
            BIDIRECTIONAL + "output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode",
            BIDIRECTIONAL + "backward_sequence_is_flipped_back_into_input_order",
            BIDIRECTIONAL + "initial_state_first_half_is_forward_second_half_is_backward",
            "test_state_passing.py::test_initial_state_is_where_the_recurrence_starts",
            "test_state_passing.py::test_two_chunks_with_carried_state_equal_one_pass",
            "test_state_passing.py::test_encoder_states_start_the_decoder",
            "test_stateful.py::test_state_carries_from_one_call_to_the_next",
            "test_stateful.py::test_state_carries_between_batches_of_one_predict",
            "test_implementations.py::test_variant_matches_the_float64_reference",
            "test_stacking.py::test_a_stack_matches_the_reference_chained_layer_after_layer",
            # One timestep reads the same either way round.
            "test_edge_shapes.py::test_one_model_with_unknown_timesteps_matches_the_reference_at_every_length",
            "test_edge_shapes.py::test_a_batch_of_one_keeps_its_batch_axis_and_matches_the_reference",
            "test_models.py::test_a_functional_model_returns_the_output_then_every_state",
            "test_bad_input.py::test_as_many_initial_states_as_the_layer_has_are_used",
            "test_bad_input.py::test_more_initial_states_than_the_layer_has_are_refused_except_by_keras_3_gru",
        ),
    ),
    "Float16SequencesSimpleRNN": Fault(
        "the flags change the values",
        "with return_sequences=True, rounds the input to float16 first",
        claims(
            NOTEBOOK + "4_last_row_is_cell_3_output",
            NOTEBOOK + "6_states_are_cell_5_states",
            RELATIONS + "last_step_of_the_sequence_is_the_default_output",
            "test_flags.py::test_configurations_agree_where_they_overlap",
            "test_causality.py::test_step_t_is_the_final_output_on_the_prefix",
            "test_reference.py::test_every_returned_tensor_matches_the_float64_reference",
            "test_go_backwards.py::test_every_returned_tensor_matches_the_backward_reference",
            "test_go_backwards.py::test_returned_sequence_is_in_processing_order",
            "test_go_backwards.py::test_last_step_is_the_default_output_and_h",
            "test_go_backwards.py::test_a_mask_still_marks_input_steps",
            "test_masking.py::test_masked_run_matches_the_reference",
            "test_masking.py::test_masking_and_embedding_mask_like_the_mask_argument",
            # The rows run alone with return_sequences=True, so in float16.
            "test_masking.py::test_final_output_and_states_come_from_the_last_valid_step",
            BIDIRECTIONAL + "states_are_the_forward_layers_then_the_backward_layers",
            BIDIRECTIONAL + "output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode",
            BIDIRECTIONAL + "initial_state_first_half_is_forward_second_half_is_backward",
            "test_state_passing.py::test_initial_state_is_where_the_recurrence_starts",
            "test_state_passing.py::test_encoder_states_start_the_decoder",
            "test_stateful.py::test_state_carries_from_one_call_to_the_next",
            "test_stateful.py::test_state_carries_between_batches_of_one_predict",
            "test_implementations.py::test_variant_matches_the_float64_reference",
            # Not the stacking chapter: its tolerance (2.9e-4, the first layer's rounding carried
            # into the top layer) is wider than the rounding to float16 moves the stack (1.8e-4 seen).
            "test_edge_shapes.py::test_one_timestep_is_one_reference_step",
            "test_edge_shapes.py::test_one_model_with_unknown_timesteps_matches_the_reference_at_every_length",
            "test_edge_shapes.py::test_a_batch_of_one_keeps_its_batch_axis_and_matches_the_reference",
            "test_models.py::test_a_functional_model_returns_the_output_then_every_state",
            "test_bad_input.py::test_as_many_initial_states_as_the_layer_has_are_used",
        ),
    ),
    "HardSigmoidLSTM": Fault(
        "the numbers against the reference",
        "computes its gates with hard_sigmoid instead of sigmoid",
        # Consistent with itself: every relation, flag, causality and structure claim holds; every
        # comparison with the float64 reference fails.
        STATES_AGAINST_THE_REFERENCE
        | claims(
            RELATIONS + "h_is_output_gate_times_tanh_of_c",  # o recomputed with sigmoid
            "test_go_backwards.py::test_returned_sequence_is_in_processing_order",
            BIDIRECTIONAL + "output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode",
            "test_state_passing.py::test_encoder_states_start_the_decoder",
            "test_stateful.py::test_state_carries_from_one_call_to_the_next",
            "test_stateful.py::test_state_carries_between_batches_of_one_predict",
        ),
    ),
    "ConstantKernelLSTM": Fault(
        "determinism",
        "initialises its kernel with ones, whatever the seed",
        claims("test_determinism.py::test_another_seed_gives_other_weights"),
    ),
    "UnseededKernelLSTM": Fault(
        "determinism",
        "draws its kernel without Keras' seed",
        claims(
            "test_determinism.py::test_same_seed_gives_the_same_weights_and_outputs",
            # The notebook's cells each build their own layer after the same seed, and compare.
            NOTEBOOK + "4_last_row_is_cell_3_output",
            NOTEBOOK + "5_output_is_cell_3_output",
            NOTEBOOK + "6_states_are_cell_5_states",
        ),
    ),
    "NoInputSpecGRU": Fault(
        "refusing what a layer cannot take",
        "declares no input spec, so a 2-D input is not refused with 'expected ndim=3'",
        claims(
            "test_bad_input.py::test_input_without_a_time_axis_is_refused",
            "test_stacking.py::test_a_layer_on_a_layer_without_return_sequences_raises",
        ),
    ),
    "LenientInputLSTM": Fault(
        "refusing what a layer cannot take",
        "completes missing initial states with zeros, cuts extra features, answers zero timesteps with its initial states",
        # Each leniency runs only where Keras would refuse; everywhere else the layer is Keras' LSTM.
        # Not the model that refuses 7 features: the Model checks its Input's shape before the layer runs.
        claims(
            "test_bad_input.py::test_fewer_initial_states_than_the_layer_has_are_refused",
            "test_bad_input.py::test_a_built_layer_refuses_another_feature_size",
            "test_edge_shapes.py::test_zero_timesteps_are_refused_not_answered_with_an_empty_output",
        ),
    ),
    "UnrollReversedSimpleRNN": Fault(
        "unroll",
        "with unroll=True, reads the steps last to first",
        claims(
            "test_implementations.py::test_variant_returns_what_the_default_layer_returns",
            "test_implementations.py::test_variant_matches_the_float64_reference",
            "test_implementations.py::test_unroll_accepts_an_unknown_number_of_timesteps",
        ),
    ),
    "InputOrderGoBackwardsLSTM": Fault(
        "go_backwards",
        "with go_backwards=True, flips the sequence back into the input's order",
        claims(
            "test_go_backwards.py::test_every_returned_tensor_matches_the_backward_reference",
            "test_go_backwards.py::test_returned_sequence_is_in_processing_order",
            "test_go_backwards.py::test_last_step_is_the_default_output_and_h",
            "test_go_backwards.py::test_equals_the_forward_layer_on_the_reversed_input",
            "test_go_backwards.py::test_a_mask_still_marks_input_steps",
            # Bidirectional flips the backward sequence once more, into processing order.
            BIDIRECTIONAL + "output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode",
            BIDIRECTIONAL + "backward_sequence_is_flipped_back_into_input_order",
            BIDIRECTIONAL + "initial_state_first_half_is_forward_second_half_is_backward",
        ),
    ),
    "MaskIgnoredGRU": Fault(
        "masking",
        "ignores the mask (and still passes it on)",
        claims(
            "test_masking.py::test_masked_run_matches_the_reference",
            "test_masking.py::test_masking_and_embedding_mask_like_the_mask_argument",
            "test_masking.py::test_masked_steps_repeat_the_previous_output",
            "test_masking.py::test_zero_output_for_mask_gives_zeros_at_masked_steps",
            "test_masking.py::test_zero_output_for_mask_also_zeroes_the_final_output",
            "test_masking.py::test_final_output_and_states_come_from_the_last_valid_step",
            "test_masking.py::test_fully_masked_row_returns_zeros",
            "test_go_backwards.py::test_a_mask_still_marks_input_steps",
        ),
    ),
    "MaskOnStatesLSTM": Fault(
        "the mask passed on",
        "passes the mask on with every returned tensor, whatever return_sequences",
        claims("test_masking.py::test_mask_is_passed_on_only_with_return_sequences"),
    ),
    "ProcessingOrderMaskLSTM": Fault(
        "the mask passed on",
        "with go_backwards=True, passes the mask on reversed, in processing order",
        # Only chapter 10 reads what a go_backwards layer passes on; Bidirectional computes its
        # own mask and does not ask its layers.
        claims("test_masking.py::test_go_backwards_passes_the_mask_on_in_input_order"),
    ),
    "GoBackwardsLostInConfigLSTM": Fault(
        "Bidirectional",
        "from_config drops go_backwards, so Bidirectional's backward copy runs forwards",
        # Keras refuses to wrap two layers that run the same way: every case of the chapter fails.
        ALL_OF_BIDIRECTIONAL,
    ),
    "ReturnStateLostInConfigGRU": Fault(
        "saving",
        "get_config leaves return_state out",
        # A loaded layer, and Bidirectional's copies, are made from the config without return_state.
        ALL_OF_BIDIRECTIONAL
        | claims(
            "test_saving.py::test_loading_keeps_return_sequences_and_return_state",
            "test_saving.py::test_the_loaded_model_returns_exactly_the_same_numbers",
        ),
    ),
    "ZeroInitialCellLSTM": Fault(
        "state passing",
        "starts from the given h and a zero c",
        claims(
            "test_state_passing.py::test_initial_state_is_where_the_recurrence_starts",
            "test_state_passing.py::test_lstm_initial_cell_state_changes_the_output",
            "test_state_passing.py::test_two_chunks_with_carried_state_equal_one_pass",
            "test_state_passing.py::test_encoder_states_start_the_decoder",
            BIDIRECTIONAL + "initial_state_first_half_is_forward_second_half_is_backward",
            "test_bad_input.py::test_as_many_initial_states_as_the_layer_has_are_used",
            # Three states are cut to two, so nothing refuses them.
            "test_bad_input.py::test_more_initial_states_than_the_layer_has_are_refused_except_by_keras_3_gru",
        ),
    ),
    "ForgetfulStatefulGRU": Fault(
        "stateful",
        "with stateful=True, sets its states back to zeros at every call",
        claims(
            "test_stateful.py::test_state_carries_from_one_call_to_the_next",
            "test_stateful.py::test_state_carries_between_batches_of_one_predict",
        ),
    ),
    "ResetIgnoredGRU": Fault(
        "stateful",
        "reset_states() and reset_state() do nothing",
        claims(
            "test_stateful.py::test_reset_states_sets_the_states_back_to_zeros",
            "test_stateful.py::test_reset_state_is_the_keras_3_name",
        ),
    ),
    "FixedCapacityStatefulGRU": Fault(
        "stateful",
        "with stateful=True, keeps states for 8 samples whatever its batch, and pads each batch up to 8",
        claims(
            # Any batch up to 8 runs, an unknown batch and batch_input_shape= are taken.
            "test_stateful.py::test_another_batch_size_is_refused_by_the_layer",
            "test_stateful.py::test_another_batch_size_is_refused_by_a_first_predict",
            "test_stateful.py::test_stateful_layer_without_a_batch_size_is_refused",
            "test_stateful.py::test_batch_input_shape_is_a_keras_2_argument",
            # The states' shape is (8, units), not (batch, units); the reset claims compare the states
            # with zeros of (batch, units). Samples 0 and 1 carry their states as Keras' do.
            "test_stateful.py::test_input_batch_size_or_batch_shape_fixes_the_states_batch",
            "test_stateful.py::test_reset_states_sets_the_states_back_to_zeros",
            "test_stateful.py::test_reset_state_is_the_keras_3_name",
            # Not the claim that another batch is refused after a predict: it runs on the last layer
            # only (LSTMWithoutReference), and Keras 3 on TensorFlow fails it itself, a strict xfail
            # (known difference stateful-predict-skips-the-batch-check-once-traced).
        ),
    ),
    "OutputsCLSTM": Fault(
        "cells",
        "Keras' own LSTM, whose catalogue entry names a cell that outputs c instead of h",
        claims(
            "test_cells.py::test_rnn_of_a_cell_returns_what_the_layer_returns",
            "test_cells.py::test_rnn_of_a_cell_matches_the_float64_reference",
        ),
    ),
}


@dataclass(frozen=True)
class KerasFault(Fault):
    """A fault planted in a Keras class that a chapter runs whatever SPEC_LAYERS says (tests/broken_keras.py)."""

    run: int  # the run that plants it: a run takes one fault per class, so that the ids tell them apart
    chapter: str  # the chapter whose claims read the class
    read_by: tuple[str, ...]  # texts of the names (function and case id) of the chapter's tests that read it
    only: str = ""  # the one claim function of the chapter the run selects (the whole chapter when empty)

    def selects(self) -> str:
        return f"keras_rnn_spec/{self.chapter}" + (f"::{self.only}" if self.only else "")

    def reads(self, result) -> bool:
        module, _, name = result.nodeid.partition("::")
        return Path(module).name == self.chapter and any(text in name for text in self.read_by)


def one_claim_fault(family: str, breaks: str, run: int, claim: str) -> KerasFault:
    """A Keras fault whose run selects one claim function ('module::function'), the one it fails."""
    chapter, _, function = claim.partition("::")
    return KerasFault(family, breaks, claims(claim), run, chapter, read_by=(function,), only=function)


CELLS = "test_cells.py::test_"
CONVLSTM = "test_convlstm.py::test_"
IMPLEMENTATIONS = "test_implementations.py::test_"
CUSTOM_CELL = ("[RNN(TwiceHCountingCell)",)
STACKS = ("[RNN([", "[RNN(StackedRNNCells(")
# Each broken class's name is in the ConvLSTM ids: the chapter names its cases after the class.
KERAS_FAULTS = {
    # TwiceHCountingCell outputs 2 * h: its last output comes back h, of the same shape; the sequence
    # is untouched, so the cases with return_sequences hold. Keras' cells output their h, and a
    # stack's output is its last cell's h: RNN(LSTMCell) and the stacks return what they did.
    "HAsOutputRNN": KerasFault(
        family="RNN around a user's cell",
        breaks="returns the cell's h (its first state) as the last output, instead of what the cell output",
        fails=claims(CELLS + "a_custom_cells_output_is_its_output_not_its_state", CELLS + "a_custom_cell_matches_its_float64_reference"),
        run=1,
        chapter="test_cells.py",
        read_by=CUSTOM_CELL,
    ),
    # The step count starts (batch, 5) instead of (batch, 1) and comes back so: the two claims that
    # check the returned shapes fail with return_state. h, and so the output 2 * h, are computed as
    # before. Keras' cells and StackedRNNCells make their own initial states.
    "FirstWidthInitialStatesRNN": KerasFault(
        family="RNN around a user's cell",
        breaks="makes every initial state of a cell that makes none as wide as the first state",
        fails=claims(CELLS + "a_custom_cell_returns_its_output_then_its_states", CELLS + "a_custom_cell_matches_its_float64_reference"),
        run=2,
        chapter="test_cells.py",
        read_by=CUSTOM_CELL,
    ),
    # The second cell of the two-cell stacks reads the first one's output a step late: other numbers,
    # the same shapes. The one-cell stack has no second cell.
    "LaggingStackedRNNCells": KerasFault(
        family="RNN over a list of cells",
        breaks="feeds each cell after the first the previous cell's output from the step before",
        fails=claims(CELLS + "stacked_cells_match_the_reference_chained_cell_after_cell"),
        run=1,
        chapter="test_cells.py",
        read_by=STACKS,
    ),
    # Every stack has a one-state cell (GRUCell, SimpleRNNCell), whose h comes back outside a list.
    # The reference claim reads a cell's states either way (Keras 2 returns them bare): it holds.
    "BareOneStateStackedRNNCells": KerasFault(
        family="RNN over a list of cells",
        breaks="returns a one-state cell's state bare, not in a list of its own",
        fails=claims(CELLS + "stacked_cells_return_their_states_nested_per_cell"),
        run=2,
        chapter="test_cells.py",
        read_by=STACKS,
    ),
    # The returned "h" is c: the output and the last step differ from it, and |c| <= |tanh(h)| does
    # not hold. c and h still differ, and both flags return the same pair.
    "SwappedStatesConvLSTM2D": KerasFault(
        family="ConvLSTM",
        breaks="returns [output, c, h] with return_state=True",
        fails=claims(CONVLSTM + "output_is_h", CONVLSTM + "last_step_of_the_sequence_is_h", CONVLSTM + "h_is_bounded_by_tanh_of_c"),
        run=1,
        chapter="test_convlstm.py",
        read_by=("SwappedStatesConvLSTM2D",),
    ),
    # The returned "c" is h: it no longer differs from h, and |h| <= |tanh(h)| fails wherever |h| is
    # above about 0.01 (|h| - |tanh(h)| is about |h|**3 / 3, against 2 float32 eps). h itself is
    # right, so the output and the last step equal it, with and without return_sequences alike.
    "HForCConvLSTM2D": KerasFault(
        family="ConvLSTM",
        breaks="returns [output, h, h] with return_state=True",
        fails=claims(CONVLSTM + "cell_state_is_not_h", CONVLSTM + "h_is_bounded_by_tanh_of_c"),
        run=2,
        chapter="test_convlstm.py",
        read_by=("HForCConvLSTM2D",),
    ),
    # With return_sequences it runs on the input reversed (three random steps): its last step and
    # states differ from those of the same layer without return_sequences. Within one call all is
    # consistent (the last step is h, c is not h, the tanh bound holds), and no shape changes.
    "ReversedWithSequencesConvLSTM1D": KerasFault(
        family="ConvLSTM",
        breaks="with return_sequences=True, reads the input last step first",
        fails=claims(CONVLSTM + "last_step_of_the_sequence_is_the_default_output", CONVLSTM + "states_do_not_depend_on_return_sequences"),
        run=1,
        chapter="test_convlstm.py",
        read_by=("ReversedWithSequencesConvLSTM1D",),
    ),
    # 7 rows stay 7 instead of 5, in every tensor; the relations between them all hold.
    "SamePaddingConvLSTM1D": KerasFault(
        family="ConvLSTM",
        breaks='pads "same" whatever padding says',
        fails=claims(CONVLSTM + "returns_the_output_then_h_and_c"),
        run=2,
        chapter="test_convlstm.py",
        read_by=("SamePaddingConvLSTM1D",),
    ),
    # implementation=1 computes the same function: LSTM(implementation=1) and LSTM(unroll=True)
    # against the default LSTM, and against the reference, hold within their tolerance (as do
    # chapter 15's RNN(LSTMCell) against it).
    "Implementation1LSTM": KerasFault(
        family="implementation",
        breaks="defaults to implementation=1",
        fails=claims(IMPLEMENTATIONS + "implementation_2_is_the_default"),
        run=1,
        chapter="test_implementations.py",
        read_by=("[LSTM",),
    ),
    # Three claims about keras.Model and keras.Sequential, which decide them before or around any layer
    # (no user's layer can break them: tests/test_planted_faults.py's broken layers run beside Keras'
    # own Model). Each run selects the one claim; the models of the other chapters in it are called on
    # inputs of their Input's shape, and have no reset method or Sequential to read.
    # Unchecked, the input of 7 features reaches the LSTM built for 3: TensorFlow's matmul refuses it,
    # an InvalidArgumentError naming neither shape.
    "UncheckedInputModel": one_claim_fault(
        "keras.Model",
        "skips the check of an input against the model's Input",
        run=1,
        claim="test_bad_input.py::test_a_model_refuses_another_feature_size_naming_both_shapes",
    ),
    # Keras 3's Model has no reset method; this one has reset_state().
    "ResetStateModel": one_claim_fault(
        "keras.Model",
        "has a reset_state() method that resets the stateful layers",
        run=2,
        claim="test_stateful.py::test_only_a_keras_2_model_resets_its_layers",
    ),
    # One tensor fewer than the functional model returns, for every layer and state flags.
    "LastStateDroppedSequential": one_claim_fault(
        "keras.Sequential",
        "returns its last layer's list without the last tensor",
        run=1,
        claim="test_models.py::test_a_sequential_model_ending_in_a_return_state_layer_returns_the_same_list_or_is_refused",
    ),
    # No other claim passes implementation to SimpleRNN.
    "ImplementationIgnoredSimpleRNN": KerasFault(
        family="implementation",
        breaks="accepts an implementation argument and ignores it, as Keras 2 does",
        fails=claims(IMPLEMENTATIONS + "simple_rnn_has_no_implementation_setting"),
        run=1,
        chapter="test_implementations.py",
        read_by=("[SimpleRNN", "test_simple_rnn_has_no_implementation_setting"),
    ),
}
KERAS_RUNS = sorted({fault.run for fault in KERAS_FAULTS.values()})

# The routes tests/broken_routes.py adds to chapter 22, by the claims each fails. A route that cannot
# load fails the first claim; the others skip, naming that failure. Permuted outputs
# fail the claim about positions, and both streaming claims, whose states are read by position from
# a tuple (LSTM's; a GRU streaming step returns output and h, equal, so reversing them changes
# nothing). A state kept between calls leaves every first call exact (names, positions, numbers) and
# fails every claim that calls the artifact again: other sizes, a second call, the stateful
# artifact's second call, the streaming steps, and the call fed by position. Numbers 1e-3 off fail
# the reference (the float32 tolerance is 4.3e-5) and the streaming run, compared at that tolerance,
# and nothing that decides identity by value (within 0.02). Keys that name the next output fail
# the claim about names, and the streaming run, which reads its states by name: LSTM's come back as
# [c, sequence] for [h, c] (GRU's output and h are equal, so it is not caught there).
EXPORT = "test_export.py::test_"
ROUTE_FAULTS = {
    "serve_permuted": claims(
        EXPORT + "the_kth_listed_output_is_the_kth_keras_output",
        EXPORT + "the_one_step_artifact_fed_by_name_reproduces_the_whole_sequence",
        EXPORT + "the_one_step_artifact_fed_by_position_computes_the_same_step",
    ),
    "serve_with_memory": claims(
        EXPORT + "other_batch_sizes_and_lengths_are_computed_or_refused",
        EXPORT + "a_second_call_returns_the_same_outputs",
        EXPORT + "a_stateful_artifact_carries_its_states_as_keras_does",
        EXPORT + "the_one_step_artifact_fed_by_name_reproduces_the_whole_sequence",
        EXPORT + "the_one_step_artifact_fed_by_position_computes_the_same_step",
    ),
    "serve_refusing": claims(EXPORT + "the_model_exports_loads_and_runs"),
    "serve_rounded": claims(
        EXPORT + "every_output_matches_the_reference_at_default_settings",
        EXPORT + "the_one_step_artifact_fed_by_name_reproduces_the_whole_sequence",
    ),
    "signature_renamed": claims(
        EXPORT + "each_keras_output_is_found_by_its_name",
        EXPORT + "the_one_step_artifact_fed_by_name_reproduces_the_whole_sequence",
    ),
}
# The load code chapter 22's f32 claim executes (keras_rnn_spec.exporting.openvino_load_code), which
# tests/broken_routes.py replaces too: it compiles with the claim's f32 hint and hands back every
# number 1e-3 off, which fails that claim (tolerance 4.3e-5) and nothing else (the openvino route
# keeps its own load code). Not a fault in the hint: OpenVINO computes bf16 only on x86-64 CPUs
# (its CPU device docs), so a bf16 hint, or an f32 hint ignored where the default is bf16, as on
# this machine with avx512_bf16, would be caught on some machines and not on others.
F32_LOADER_FAULT = "openvino_load_code_f32_1e-3_off"
F32_LOADER_FAILS = claims(EXPORT + "openvino_at_f32_inference_precision_matches_the_reference")
# The routes' run selects the broken routes' tests, and the f32 claim on the unrolled models: only
# those export to OpenVINO from TensorFlow (known difference export-openvino-refuses-the-tensorflow-loop),
# and each other case would spend seconds in a failing export, to skip.
ROUTES_RUN = (
    "-p",
    "broken_routes",
    "keras_rnn_spec/test_export.py",
    "-k",
    " or ".join([*ROUTE_FAULTS, "(openvino_at_f32 and unrolled)"]),
)

FAILED = ("failed", "error", "xpassed")
RUNS: dict = {}  # each run of the spec, made once by the first test that needs it


def copy_suite(pytester) -> None:
    """The spec as a user runs it, the self-tests' layers and plugins, and the examples, in pytester's directory."""
    for name in ("conftest.py", "pytest.ini"):
        shutil.copy(ROOT / name, pytester.path)
    for folder in ("keras_rnn_spec", "examples"):
        shutil.copytree(ROOT / folder, pytester.path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("rewritten_returns.py", "broken_layers.py", "broken_keras.py", "broken_routes.py", "no_shrinking.py"):
        shutil.copy(HERE / name, pytester.path)


def run_spec(pytester, monkeypatch, key: str, spec_layers: str | None, *args: str) -> list:
    """The spec's results (keras_rnn_spec/report_render.py's Result per test), run once per key in a subprocess.

    A run that times out or writes no results is remembered too, so that the tests after it fail at once.
    """
    if key not in RUNS:
        copy_suite(pytester)
        if spec_layers:
            monkeypatch.setenv("SPEC_LAYERS", spec_layers)
        else:
            monkeypatch.delenv("SPEC_LAYERS", raising=False)
        log = pytester.path / "reports" / "results.jsonl"
        try:
            outcome = pytester.runpytest_subprocess(*spec_runs.cache_options(), *RUN_OPTIONS, *args, timeout=RUN_TIMEOUT)
        except pytester.TimeoutExpired:
            RUNS[key] = f"the spec ran for more than {RUN_TIMEOUT} s"
        else:
            if log.exists():
                records = [json.loads(line) for line in log.read_text().splitlines()]
                RUNS[key] = report_render.results_from_reports(records)
            else:
                RUNS[key] = f"the spec wrote no results:\n{outcome.stdout.str()[-3000:]}"
    if isinstance(RUNS[key], str):
        pytest.fail(RUNS[key])
    return RUNS[key]


@pytest.fixture
def broken_run(pytester, monkeypatch) -> list:
    """The whole spec on every broken layer, in two xdist workers, each chapter in one worker and in
    file order, as a run without xdist has it (chapter 13 reuses one model per layer across claims).

    Chapter 22 is left out: it would export every broken layer along every route (about 10 models per
    layer, a few seconds each); its faults are planted in the routes, in a run of its own below."""
    return run_spec(
        pytester, monkeypatch, "broken", "broken_layers:UNDER_TEST", "-n", "2", "--dist", "loadfile", "--ignore=keras_rnn_spec/test_export.py"
    )


def case_id(result) -> str:
    return result.nodeid.partition("[")[2]


def function_of(result) -> str:
    """'test_flags.py::test_configurations_agree_where_they_overlap' for a result of that test."""
    module, _, name = result.nodeid.partition("::")
    return f"{Path(module).name}::{name.split('[')[0]}"


def results_about(results: list, name: str) -> list:
    return [result for result in results if name in case_id(result)]


def check_outcomes(results: list, expected_failures: frozenset) -> list[str]:
    """Problems with a layer's results: unexpected failures or passes, and undocumented skips."""
    failed = {function_of(r) for r in results if r.outcome in FAILED}
    problems = [f"failed, but the fault should not break it: {t}" for t in sorted(failed - expected_failures)]
    problems += [f"did not fail, but the fault breaks it: {t}" for t in sorted(expected_failures - failed)]
    problems += [
        f"skipped for an undocumented reason: {r.nodeid}: {r.detail}"
        for r in results
        if r.outcome == "skipped" and not any(reason in r.detail for reason in DOCUMENTED_SKIPS)
    ]
    return problems


def record_catch(record_property, name: str, family: str, results: list) -> None:
    """What the figure in the terminal summary (tests/conftest.py) reports for this fault."""
    caught_by = sorted({function_of(r) for r in results if r.outcome in FAILED})
    record_property("planted_fault", {"fault": name, "family": family, "caught_by": caught_by})


@pytest.mark.parametrize("name", FAULTS)
def test_the_spec_fails_exactly_the_claims_the_fault_breaks(name, broken_run, record_property):
    fault = FAULTS[name]
    results = results_about(broken_run, name)
    assert results, f"no test ran on {name}"
    record_catch(record_property, name, fault.family, results)
    problems = check_outcomes(results, fault.fails)
    assert not problems, f"{name} ({fault.breaks}):\n" + "\n".join(problems)


def test_each_test_of_the_run_is_about_one_layer_or_passes(broken_run):
    """Every broken layer has its expected failures here; no test id names two broken layers (the
    attribution above would be ambiguous), and the tests that name none (claims about Keras' own
    classes, or about no layer) did not fail."""
    assert list(FAULTS) == [entry.name for entry in broken_layers.BROKEN]
    names = [entry.name for entry in broken_layers.UNDER_TEST] + ["RNN(LSTMCell)"]
    ambiguous = [r.nodeid for r in broken_run if sum(name in case_id(r) for name in names) > 1]
    unattributed = [r for r in broken_run if not any(name in case_id(r) for name in names)]
    assert not ambiguous
    assert [r.nodeid for r in unattributed if r.outcome in FAILED] == []


FAILURE_LINES = ("Claim:", "Case:", "Reproduce:")


def test_every_failure_names_its_claim_and_case_and_prints_a_reproducer(broken_run):
    """Each failed claim of the run says which claim, on which case, with Keras code that reproduces it:
    a comparison's failure (the verify helper's message) and an error Keras raised (the session's notes) alike."""
    failures = [r for r in broken_run if r.outcome == "failed"]
    assert failures
    bare = [f"{r.nodeid}: {r.detail[:300]}" for r in failures if not all(line in r.detail for line in FAILURE_LINES)]
    assert not bare, f"{len(bare)} of {len(failures)} failures lack {', '.join(FAILURE_LINES)}:\n" + "\n".join(bare)


RAISING_CHAPTER = '''
"""Chapter 99: a claim in which Keras raises."""

import pytest

from keras_rnn_spec.cases import reproduced_by
from keras_rnn_spec.catalogue import LSTM, STATE
from keras_rnn_spec.observe import Case, observe


@pytest.mark.parametrize("case", [Case(LSTM, STATE, "call")], ids=str)
def test_parametrized(case):
    """A claim whose case is its parameter."""
    observe(case).weights[99]


@pytest.mark.parametrize("layer", [LSTM], ids=str)
@reproduced_by(lambda layer: Case(layer, STATE, "predict"))
def test_reproduced_by(layer):
    """A claim whose case its reproduced_by function makes."""
    LSTM.make(5, STATE)(object())
'''


def test_an_error_raised_in_a_claim_names_the_claim_and_case_and_prints_a_reproducer(pytester):
    """An exception that is not a comparison's (Keras refusing, an index out of range) gets the claim,
    the case and its Keras code as notes, whichever way the claim names its case."""
    copy_suite(pytester)
    pytester.path.joinpath("keras_rnn_spec/test_zz_raises.py").write_text(RAISING_CHAPTER)
    # -rN: no short summary, which under CI=true repeats each message in full.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rN", "keras_rnn_spec/test_zz_raises.py")
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    lstm = "keras.layers.LSTM(5, return_state=True)"
    for claim, case in [
        ("A claim whose case is its parameter.", f"{lstm} via a direct layer call"),
        ("A claim whose case its reproduced_by function makes.", f"{lstm} via Model(...).predict"),
    ]:
        assert f"Claim:    {claim}" in output
        assert f"Case:     {case}" in output
    assert output.count("Reproduce:") == 2
    assert "output, h, c = layer(x)" in output and "output, h, c = model.predict(x, verbose=0)" in output


# The claims that compare numbers with the float64 reference: without one, they skip, all of their
# cases, and nothing else does (h = o * tanh(c) skips too: it reads LSTM's weight layout, which a
# layer vouches for by naming keras_rnn_spec.reference.lstm as its reference).
NEED_A_REFERENCE = STATES_AGAINST_THE_REFERENCE | claims(
    RELATIONS + "h_is_output_gate_times_tanh_of_c",
    "test_go_backwards.py::test_returned_sequence_is_in_processing_order",
    BIDIRECTIONAL + "output_is_a_forward_and_a_go_backwards_layer_merged_by_merge_mode",
    "test_state_passing.py::test_encoder_states_start_the_decoder",
    "test_stateful.py::test_state_carries_from_one_call_to_the_next",
    "test_stateful.py::test_state_carries_between_batches_of_one_predict",
    "test_cells.py::test_rnn_of_a_cell_matches_the_float64_reference",
)


def test_a_layer_without_a_reference_skips_exactly_the_claims_that_need_one(broken_run):
    # Chapter 15's ids name the entry's cell, RNN(LSTMCell), which no other entry names.
    name = broken_layers.WITHOUT_REFERENCE.name
    results = results_about(broken_run, name) + results_about(broken_run, "RNN(LSTMCell)")
    assert [r.nodeid for r in results if r.outcome not in ("passed", "skipped", "xfailed")] == []
    skipped = {function_of(r) for r in results if r.outcome == "skipped"}
    assert skipped == NEED_A_REFERENCE
    partly = {function_of(r) for r in results if r.outcome != "skipped"} & NEED_A_REFERENCE
    assert partly == set(), "a claim that needs the reference ran some of its cases without it"


def named_by_faults() -> set[str]:
    """The claim functions in some planted fault's expected failures (each asserted by a test above or below)."""
    expected = [*(fault.fails for fault in [*FAULTS.values(), *KERAS_FAULTS.values()]), *ROUTE_FAULTS.values(), F32_LOADER_FAILS]
    return set().union(*expected)


def test_every_chapter_is_needed_by_a_fault():
    """Each chapter module is named in some fault's expected failures, so removing it breaks a self-test."""
    chapters = {path.name for path in (ROOT / "keras_rnn_spec").glob("test_*.py")}
    assert chapters - {test.split("::")[0] for test in named_by_faults()} == set()


def test_every_claim_function_is_named_by_a_planted_fault():
    """Each claim function fails on some planted fault, or is on the short allow-list of claims that no
    fault can make fail (tests/claim_coverage.py), with its reason; and nothing on that list has a fault."""
    named, claims = named_by_faults(), claim_names()
    assert named - claims == set(), "expected failures that name no claim function of the spec"
    assert claims - named - set(WITHOUT_A_FAULT) == set(), "claim functions no planted fault fails"
    assert set(WITHOUT_A_FAULT) <= claims - named, "allow-listed claims that are gone or now have a fault"


def test_every_chapter_about_keras_own_classes_has_faults_planted_in_keras():
    """The chapters with claims about Keras' own classes (marked by the catalogue's helpers; they skip under
    SPEC_LAYERS, so no broken layer reaches them) are those the Keras faults run whole."""
    helpers = ("about_keras_own_classes(", "keras_classes_marks(")
    chapters = {path.name for path in (ROOT / "keras_rnn_spec").glob("test_*.py") if any(h in path.read_text() for h in helpers)}
    assert chapters == {fault.chapter for fault in KERAS_FAULTS.values() if not fault.only}


def keras_run(pytester, monkeypatch, run: int) -> list:
    """The chapters of the run's Keras faults, with those faults planted (tests/broken_keras.py)."""
    faults = [name for name, fault in KERAS_FAULTS.items() if fault.run == run]
    planted = [option for name in faults for option in ("--keras-fault", name)]
    chapters = sorted({KERAS_FAULTS[name].selects() for name in faults})
    return run_spec(pytester, monkeypatch, f"keras classes {run}", None, "-p", "broken_keras", *planted, *chapters)


@pytest.mark.parametrize("name", KERAS_FAULTS)
def test_a_fault_in_a_keras_class_fails_exactly_the_claims_it_breaks(name, pytester, monkeypatch, record_property):
    """A Keras class replaced by a subclass that breaks one behaviour: the tests that read it fail exactly its claims."""
    fault = KERAS_FAULTS[name]
    ran = [r for r in keras_run(pytester, monkeypatch, fault.run) if fault.reads(r)]
    assert ran, f"no test read {name}"
    record_catch(record_property, name, f"{fault.family} (Keras' own class)", ran)
    problems = check_outcomes(ran, fault.fails)
    assert not problems, f"{name} ({fault.breaks}):\n" + "\n".join(problems)


@pytest.mark.parametrize("run", KERAS_RUNS)
def test_each_test_of_a_keras_run_reads_one_fault_or_passes(run, pytester, monkeypatch):
    """No test reads two of the run's faults (the attribution above would be ambiguous), and those that
    read none passed: chapter 15's RNN(SimpleRNNCell / GRUCell / LSTMCell), whose cells output their h
    and make their own initial states, against layers that compute the same function (LSTM with
    implementation=1 among them); chapter 14's GRU cases."""
    results = keras_run(pytester, monkeypatch, run)
    faults = [fault for fault in KERAS_FAULTS.values() if fault.run == run]
    assert [r.nodeid for r in results if sum(fault.reads(r) for fault in faults) > 1] == []
    assert [r.nodeid for r in results if not any(fault.reads(r) for fault in faults) and r.outcome != "passed"] == []


@pytest.mark.parametrize("route", ROUTE_FAULTS)
def test_a_broken_route_fails_exactly_the_export_claims_it_breaks(route, pytester, monkeypatch, record_property):
    """Chapter 22 along the routes tests/broken_routes.py plants: each fails exactly its claims, on
    Keras' own layers, in a run of that chapter alone (the other routes deselected)."""
    results = run_spec(pytester, monkeypatch, "routes", None, *ROUTES_RUN)
    ran = [r for r in results if case_id(r).startswith(f"{route}-")]
    assert ran, f"no test ran along {route}"
    record_catch(record_property, route, "routes out of Keras (chapter 22)", ran)
    problems = check_outcomes(ran, ROUTE_FAULTS[route])
    assert not problems, f"{route}:\n" + "\n".join(problems)


def test_a_broken_f32_loader_fails_exactly_the_f32_claim(pytester, monkeypatch, record_property):
    """The f32 claim along the openvino route, in the routes' run, with the loader it calls handing back numbers 1e-3 off."""
    results = run_spec(pytester, monkeypatch, "routes", None, *ROUTES_RUN)
    ran = [r for r in results if case_id(r).startswith("openvino-")]
    assert ran, "no test ran along openvino"
    record_catch(record_property, F32_LOADER_FAULT, "the loader of chapter 22's f32 claim", ran)
    problems = check_outcomes(ran, F32_LOADER_FAILS)
    assert not problems, f"{F32_LOADER_FAULT}:\n" + "\n".join(problems)


def test_the_readme_example_passes_the_spec(example_run):
    """The README's own layer (examples/coupled_lstm.py) passes every claim that applies to it."""
    results = example_run.results
    assert [r.nodeid for r in results if r.outcome in FAILED] == []
    assert check_outcomes(results, frozenset()) == []
    # The claims about Keras' own classes skip; chapter 15 runs on the example's own cell.
    ran = {function_of(r) for r in results if r.outcome == "passed"}
    assert "test_cells.py::test_rnn_of_a_cell_matches_the_float64_reference" in ran
    assert not any(function_of(r).startswith("test_convlstm.py") for r in results if r.outcome == "passed")
