"""The notebook example as keras_rnn_spec/test_notebook.py records it, and what the report's opening and picture must show of it.

`synthetic_example` is made of random numbers, in sizes that are not the notebook's, for the report's
self-tests; the checks apply to it and to a real run's example alike."""

import re
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from keras_rnn_spec import report_render

FLAGS = [(False, False), (True, False), (False, True), (True, True)]


def synthetic_example(steps: int = 4, units: int = 3, seed: int = 0) -> dict:
    """An LSTM-like example: a sequence of `steps` x `units` for sample 0, its last step as output and h, and a c."""
    rng = np.random.default_rng(seed)
    sequence = rng.uniform(-1, 1, (steps, units)).round(6)
    c = rng.uniform(-1, 1, units).round(6)
    returns = []
    for sequences, state in FLAGS:
        output = [2, steps, units] if sequences else [2, units]
        names = ["output", "state h", "state c"] if state else ["output"]
        shapes = [output, [2, units], [2, units]] if state else [output]
        returns.append({"flags": {"return_sequences": sequences, "return_state": state}, "names": names, "shapes": shapes})
    return {
        "returns": returns,
        "sample": {"sequence": sequence.tolist(), "output": sequence[-1].tolist(), "h": sequence[-1].tolist(), "c": c.tolist()},
        "code": "print(1)",
        "printed": "1",
        "equalities": [["one is one", "1 - 1", 0.0]],
    }


def numbers_in(line: str) -> list[float]:
    return [float(number) for number in re.findall(r"-?\d+\.\d+", line)]


def assert_first_screen_shows(lines: list[str], example: dict, picture: str):
    """The lines hold the table of what each configuration returned (names and shapes), the picture's
    link, and sample 0's numbers: the sequence, one row per step, then output, h and c, the first two
    said to be its last step."""
    for entry in example["returns"]:
        flags = entry["flags"]
        (row,) = [line for line in lines if line.startswith(f"| {flags['return_sequences']} | {flags['return_state']} |")]
        for name, shape in zip(entry["names"], entry["shapes"], strict=True):
            assert f"{name} ({', '.join(map(str, shape))})" in row, row
    assert f"]({picture})" in next(line for line in lines if line.startswith("!["))
    sequence = example["sample"]["sequence"]
    steps = [line for line in lines if re.match(r"\s*\d+\s+\[", line)]
    assert [numbers_in(line) for line in steps] == [pytest.approx(row, abs=5e-5) for row in sequence]
    for name in ("output", "h", "c"):
        (line,) = [line for line in lines if line.lstrip().startswith(f"{name}[0]")]
        assert numbers_in(line.partition("]")[2]) == pytest.approx(example["sample"][name], abs=5e-5), line
        assert line.endswith(f"= step {len(sequence)}") == (name != "c"), line


def picture_values(svg: str) -> dict[str, float]:
    """The value of each cell of the picture, by its title ("sequence[0, t][u]", "h[u]", "c[u]"); the text must be XML."""
    titles = [title.text for title in ElementTree.fromstring(svg).iter("{http://www.w3.org/2000/svg}title")]
    return {name: float(value) for name, _, value in (title.partition(" = ") for title in titles)}


def drawn_from(example: dict) -> dict[str, float]:
    """What the picture of `example` must show: sample 0's sequence, h and c."""
    sample = example["sample"]
    values = {f"sequence[0, {t}][{u}]": v for t, row in enumerate(sample["sequence"]) for u, v in enumerate(row)}
    return {**values, **{f"{name}[{u}]": v for name in ("h", "c") for u, v in enumerate(sample[name])}}


def rendered(observations: list, picture: str = "") -> str:
    """The report of a one-test run that recorded `observations` (its user properties besides its
    metadata), with `picture` as the picture's file name."""
    meta = {"module": "test_x.py", "chapter": 1, "chapter_title": "x", "test": "test_x", "claim": "A claim."}
    report = {
        "$report_type": "TestReport",
        "nodeid": "test_x.py::test_x",
        "when": "call",
        "outcome": "passed",
        "user_properties": [[report_render.META, meta], *observations],
    }
    return report_render.markdown(report_render.results_from_reports([report]), {"python": "3"}, {}, picture=picture)
