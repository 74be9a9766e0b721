"""The few claim functions no planted fault can make fail, each with why."""

# A claim function goes here only when no fault planted from outside Keras, nor in Keras' own classes
# for the run, can make it fail on the subject the faults are derived for (Keras 3 on TensorFlow).
WITHOUT_A_FAULT = {
    "test_stateful.py::test_another_batch_size_is_refused_after_a_predict": (
        "Keras 3 on TensorFlow breaks it itself: a strict xfail (known difference "
        "stateful-predict-skips-the-batch-check-once-traced), so every default run shows it failing; "
        "a fault could only make it pass unexpectedly, by refusing where Keras does not"
    ),
}

