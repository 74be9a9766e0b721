"""The suite's self-tests run small pytest sessions of their own, with pytest's `pytester` fixture."""

pytest_plugins = ["pytester"]
