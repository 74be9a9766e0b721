"""How a run of the whole spec is split over pytest-xdist workers (keras_rnn_spec/plugin.py decides
when): xdist's scope scheduling, which sends the tests of one scope to one worker, with the spec's
own scopes. Imported only where xdist is installed.

The scope is read from the test's id alone, since xdist's controller schedules ids it does not
collect: a test of chapter 22 belongs to its export (the first part of its route's name), whose
tests share each artifact, the TF Lite conversions together, which share the one process they run
in (exporting.ISOLATED_EXPORTS); another test to the first layer under test its id names, whose
tests share the observations their process caches (observe.py); any other test to its chapter.
xdist's own `--dist loadgroup` would add the group to every test id, which the report, the results
file and the known differences read.
"""

from xdist.scheduler import LoadScopeScheduling

from keras_rnn_spec import catalogue
from keras_rnn_spec.exporting import ISOLATED_EXPORTS

EXPORT_CHAPTER = "test_export.py"


def scope_of(nodeid: str, layer_names: list[str]) -> str:
    chapter = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    parameters = nodeid.partition("[")[2].removesuffix("]").split("-")
    if chapter == EXPORT_CHAPTER and parameters[0]:
        return f"{chapter}::{'isolated' if parameters[0] in ISOLATED_EXPORTS else parameters[0]}"
    return next((f"layer {name}" for name in layer_names if name in parameters), chapter)


class SpecScheduling(LoadScopeScheduling):
    """xdist's scope scheduling over the spec's scopes (`scope_of`)."""

    def __init__(self, config, log=None):
        super().__init__(config, log)
        self.layer_names = [str(layer) for layer in catalogue.selection_of(config).layers]

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid, self.layer_names)
