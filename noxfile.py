"""One nox session per subject of the compatibility matrix: `nox -s tf2.15`, `nox -t keras3`, `nox`.

Each session installs the suite's tools (requirements-suite.txt) beside one subject, selects it with
the ecosystem's own switches (TF_USE_LEGACY_KERAS, KERAS_BACKEND) and runs the spec. Arguments
after `--` go to pytest. TensorFlow is pinned to the newest patch of each minor release; the Keras
it brings is whatever pip resolves for it, which is what a user installing that release gets.
"""

import nox

nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

KERAS2_RELEASES = {"2.12": "2.12.1", "2.13": "2.13.1", "2.14": "2.14.1", "2.15": "2.15.1"}
KERAS3_RELEASES = {"2.16": "2.16.2", "2.17": "2.17.1", "2.18": "2.18.1", "2.19": "2.19.1", "2.20": "2.20.0", "2.21": "2.21.0"}

# name -> (packages, environment variables, tags)
ENVIRONMENTS = {
    **{f"tf{minor}": ([f"tensorflow=={patch}"], {}, ["tensorflow", "keras2"]) for minor, patch in KERAS2_RELEASES.items()},
    **{f"tf{minor}": ([f"tensorflow=={patch}"], {}, ["tensorflow", "keras3"]) for minor, patch in KERAS3_RELEASES.items()},
    "tf2.21-tf-keras": (
        ["tensorflow==2.21.0", "tf-keras==2.21.0"],
        {"TF_USE_LEGACY_KERAS": "1"},
        ["tensorflow", "keras2"],
    ),
    # torch 2.13.0: from plain PyPI on Linux x86_64 the CUDA 13 build (with NVIDIA's packages);
    # where pip is given PyTorch's CPU index, the CPU-only build (README, "Every release and backend").
    "keras3-jax": (["keras==3.15.1", "jax==0.10.2"], {"KERAS_BACKEND": "jax"}, ["keras3"]),
    "keras3-torch": (["keras==3.15.1", "torch==2.13.0"], {"KERAS_BACKEND": "torch"}, ["keras3"]),
    # The default install with JAX and PyTorch beside TensorFlow (requirements-all-frameworks.txt), once
    # per backend: what a hosted notebook or a team with a second backend has.
    **{
        f"all-frameworks-{backend}": (["-r", "requirements-all-frameworks.txt"], {"KERAS_BACKEND": backend}, ["keras3", "all-frameworks"])
        for backend in ("tensorflow", "jax", "torch")
    },
}


# Chapter 22's runtimes, as each subject can install them beside its own pins (pip check clean, the
# subject's tensorflow, keras, numpy and protobuf unchanged). onnx is the newest each TensorFlow's
# pins allow: typing-extensions<4.6 (2.12, 2.13), ml-dtypes<0.5 (2.14-2.17), protobuf<6 (2.18, 2.19).
# scipy: Keras 3's OpenVINO export on TensorFlow and torch imports it. Not installed: tensorflow on
# JAX (1.9 GB, for format="tf_saved_model" and "openvino" there) and litert-torch on torch (0.95 GB,
# for format="litert"): those routes skip with the ImportError as their reason.
RUNTIMES = ["onnxruntime==1.32.0", "tf2onnx==1.17.0", "openvino==2026.4.1", "ai-edge-litert==2.3.0"]
EXPORT_PACKAGES = {
    "tf2.12": [*RUNTIMES, "onnx==1.17.0"],
    "tf2.13": [*RUNTIMES, "onnx==1.17.0"],
    "tf2.14": [*RUNTIMES, "onnx==1.18.0"],
    "tf2.15": [*RUNTIMES, "onnx==1.18.0"],
    "tf2.16": [*RUNTIMES, "onnx==1.18.0", "scipy==1.17.1"],
    "tf2.17": [*RUNTIMES, "onnx==1.18.0", "scipy==1.17.1"],
    "tf2.18": [*RUNTIMES, "onnx==1.22.0", "scipy==1.17.1"],
    "tf2.19": [*RUNTIMES, "onnx==1.22.0", "scipy==1.17.1"],
    "tf2.20": [*RUNTIMES, "onnx==1.23.2", "scipy==1.17.1"],
    "tf2.21": [*RUNTIMES, "onnx==1.23.2", "scipy==1.17.1"],
    "tf2.21-tf-keras": [*RUNTIMES, "onnx==1.23.2"],
    "keras3-jax": ["jax2onnx==0.17.1", "onnxruntime==1.32.0", "onnx==1.23.2", "openvino==2026.4.1", "ai-edge-litert==2.3.0"],
    "keras3-torch": ["onnxscript==0.7.2", "onnxruntime==1.32.0", "onnx==1.23.2", "openvino==2026.4.1", "ai-edge-litert==2.3.0", "scipy==1.17.1"],
    # requirements-all-frameworks.txt has every runtime but litert-torch (0.95 GB: format="litert" on torch skips).
    **{f"all-frameworks-{backend}": [] for backend in ("tensorflow", "jax", "torch")},
}


def _spec_session(name: str, packages: list[str], variables: dict[str, str]):
    def run_spec(session: nox.Session) -> None:
        session.install("-r", "requirements-suite.txt", *packages, *EXPORT_PACKAGES[name])
        # Named after the environment: docs/compatibility.md is merged from results/NAME.jsonl.gz.
        # A run given pytest arguments (`nox -s NAME -- -k masking`) is partial or unusual: it goes
        # to reports/matrix/ and never replaces the committed result of the whole suite. To replace
        # it anyway, ask for it by naming both files:
        # `-- --report-log=results/NAME.jsonl.gz --spec-report=results/NAME.md` (the last option wins).
        where = "reports/matrix" if session.posargs else "results"
        if session.posargs:
            session.log(f"pytest arguments given: the results go to {where}/, not results/ (see README)")
        session.run(
            "pytest",
            f"--report-log={where}/{name}.jsonl.gz",
            f"--spec-report={where}/{name}.md",
            *session.posargs,
            env={"SPEC_ENVIRONMENT": name, **variables},
        )

    run_spec.__doc__ = f"The spec on pip install {' '.join(packages)}" + (f" with {variables}" if variables else "")
    return run_spec


for _name, (_packages, _variables, _tags) in ENVIRONMENTS.items():
    nox.session(name=_name, tags=_tags)(_spec_session(_name, _packages, _variables))


@nox.session(name="shuffled", default=False)
def shuffled(session: nox.Session) -> None:
    """The spec in three random orders over two workers (pytest-randomly): no claim relies on another running first.

    Each run draws its own seed and prints it ("Using --randomly-seed=N"); `nox -s shuffled -- --randomly-seed=N`
    repeats that order. The default subject; the reports go to reports/shuffled/, never results/. Not part
    of the matrix: `nox` alone does not run it.
    """
    session.install("-r", "requirements.txt", "pytest-randomly==5.1.0")
    for run in range(1, 4):
        session.run(
            "pytest",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            f"--report-log=reports/shuffled/run{run}.jsonl",
            f"--spec-report=reports/shuffled/run{run}.md",
            *session.posargs,
        )
