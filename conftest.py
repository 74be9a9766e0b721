"""The repository's pytest set-up: the spec's plugin, as the installed package's entry point loads it."""

pytest_plugins = ["keras_rnn_spec.plugin"]
