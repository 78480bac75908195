"""Legal-document summarisation (Part 1 application task, companion notebook ``part1_applications``).

Which model fits depends on what kind of summary you want:

* **extractive** — keep the most important sentences of the document word for word. An *encoder*
  such as BERT can do this: it reads one sentence and scores it, and a sentence classifier is exactly
  what Part 2 fine-tunes. Offline, the kit fine-tunes the packaged MiniLM encoder this way on its own
  legal corpus (``data/legal``). Training labels come from the reference summaries with a greedy
  ROUGE *oracle* (the sentences whose words best cover the reference are labelled "keep"): a
  *labeler* the caller passes in. Writing it is Part 1's exercise; ``summarize-train`` uses the
  instructor's reference (``finetune_kit.course.reference``).
* **abstractive** — write new sentences. A BERT *classifier* cannot: that needs a decoder, so an
  encoder-decoder: BART, T5, Pegasus, LED (Longformer) for long filings, or BERT2BERT
  (``EncoderDecoderModel`` warm-started from two BERT checkpoints). On Azure the kit fine-tunes
  ``t5-small`` on BillSum with ``Seq2SeqTrainer``.

Both are scored with ROUGE against the reference summaries and against the **lead-3** baseline (the
first three sentences), which is hard to beat on news but not on legal text, whose opening sentences
name the parties and define terms while the obligations come later.

Per-profile settings are the profiles' ``summarization`` field (``config.PROFILES``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from finetune_kit.course import config
from finetune_kit.course.config import DATA_DIR, OFFLINE_MINILM, PROFILES, Profile, SummarizationSettings
from finetune_kit.tasks import small_trainers

LEGAL_FILE = DATA_DIR / "legal" / "legal_documents.jsonl"
SPLITS = ("train", "validation", "test")
MIN_SENTENCES, MAX_SENTENCES = 5, 25
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
KEEP_LABELS = {0: "skip", 1: "keep"}


def extractive_settings(profile: Profile) -> SummarizationSettings:
    """Settings for the extractive lesson on the kit's corpus; Azure's recipe is abstractive, so it uses offline's."""
    settings = profile.summarization
    return settings if settings.method == "extractive" else PROFILES["offline"].summarization


def describe(profile: Profile) -> str:
    """One line for the notebook banner: what the summarisation lesson uses under this profile."""
    ex = extractive_settings(profile)
    docs = "all" if ex.max_train_docs is None else f"{ex.max_train_docs} training"
    line = f"summarisation: MiniLM picks sentences ({docs} documents of {LEGAL_FILE.parent})"
    settings = profile.summarization
    if settings.method == "abstractive":
        line += f"; the command runs {settings.model} on {settings.dataset} (abstractive)"
    return line


def _model_source(model: str) -> str:
    return config.model_source(config.PROFILES["offline"]) if model == OFFLINE_MINILM else model


# --- the kit's legal corpus -------------------------------------------------------------------------


@dataclass(frozen=True)
class LegalDocument:
    """One document of ``data/legal``: its sentences, already split, and a reference summary."""

    id: str
    split: str
    kind: str
    title: str
    sentences: tuple[str, ...]
    summary: str

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


_FIELDS = {"id": str, "split": str, "kind": str, "title": str, "sentences": list, "summary": str}


def _document(row: Any, where: str) -> LegalDocument:
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    for name, kind in _FIELDS.items():
        if name not in row:
            raise ValueError(f"{where}: missing field {name!r}")
        if not isinstance(row[name], kind):
            raise ValueError(f"{where}: field {name!r} must be a {kind.__name__}, got {type(row[name]).__name__}")
        if kind is str and not row[name].strip():
            raise ValueError(f"{where}: field {name!r} is empty")
    extra = set(row) - set(_FIELDS)
    if extra:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
    if row["split"] not in SPLITS:
        raise ValueError(f"{where}: field 'split' is {row['split']!r}; use one of {', '.join(SPLITS)}")
    sentences = row["sentences"]
    if not MIN_SENTENCES <= len(sentences) <= MAX_SENTENCES:
        raise ValueError(f"{where}: field 'sentences' has {len(sentences)} sentences; "
                         f"a document needs {MIN_SENTENCES} to {MAX_SENTENCES}")
    for i, sentence in enumerate(sentences):
        if not isinstance(sentence, str) or not sentence.strip():
            raise ValueError(f"{where}: sentence {i} of field 'sentences' is empty or not a string")
    return LegalDocument(row["id"], row["split"], row["kind"], row["title"],
                         tuple(s.strip() for s in sentences), row["summary"].strip())


def load_legal_corpus(path: Path | str | None = None) -> list[LegalDocument]:
    """Read and validate ``data/legal/legal_documents.jsonl`` (one JSON document per line).

    Errors name the file, the line and the field, so a broken edit of the corpus is found at once.
    """
    path = Path(path) if path is not None else LEGAL_FILE
    if not path.exists():
        raise FileNotFoundError(f"Legal corpus not found: {path}")
    docs: list[LegalDocument] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
        doc = _document(row, where)
        if doc.id in seen:
            raise ValueError(f"{where}: id {doc.id!r} already used on line {seen[doc.id]}")
        seen[doc.id] = number
        docs.append(doc)
    if not docs:
        raise ValueError(f"{path}: no documents")
    return docs


def legal_splits(docs: list[LegalDocument], settings: SummarizationSettings | None = None) -> dict[str, list]:
    """Group documents by their fixed split, trimmed to the profile's sizes (smoke uses a handful)."""
    out = {name: [d for d in docs if d.split == name] for name in SPLITS}
    if settings is not None:
        if settings.max_train_docs is not None:
            out["train"] = out["train"][: settings.max_train_docs]
        if settings.max_eval_docs is not None:
            out["validation"] = out["validation"][: settings.max_eval_docs]
            out["test"] = out["test"][: settings.max_eval_docs]
    return out


# --- ROUGE, the oracle and the lead baseline ----------------------------------------------------------

_SCORERS: dict[tuple[str, ...], Any] = {}


def _scorer(types: tuple[str, ...]) -> Any:
    from rouge_score import rouge_scorer

    if types not in _SCORERS:
        _SCORERS[types] = rouge_scorer.RougeScorer(list(types), use_stemmer=True)
    return _SCORERS[types]


def rouge_scores(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 over the pairs, in percent (the convention of papers and model cards)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("rouge_scores needs at least one prediction")
    scorer = _scorer(ROUGE_TYPES)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for prediction, reference in zip(predictions, references, strict=True):
        for name, score in scorer.score(reference, prediction).items():
            totals[name] += score.fmeasure
    return {name: round(100 * total / len(predictions), 2) for name, total in totals.items()}


def overlap_score(candidate: str, reference: str) -> float:
    """How well ``candidate`` covers ``reference``: the mean of ROUGE-1 and ROUGE-2 F1, in [0, 1].

    This is the score the greedy oracle climbs (as in Nallapati et al. 2017 and BertSum).
    """
    if not candidate.strip() or not reference.strip():
        return 0.0
    scores = _scorer(("rouge1", "rouge2")).score(reference, candidate)
    return (scores["rouge1"].fmeasure + scores["rouge2"].fmeasure) / 2


def lead_summary(sentences: list[str] | tuple[str, ...], k: int = 3) -> str:
    """The lead-k baseline: the document's first ``k`` sentences."""
    return " ".join(sentences[:k])


_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = ("e.g.", "i.e.", "U.S.", "Sec.", "No.", "Mr.", "Ms.", "Dr.", "Inc.", "Ltd.", "Co.", "U.S.C.", "etc.")


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences with a rule (no model to download), keeping common abbreviations.

    Used for BillSum's raw bill texts; the kit's own corpus ships sentences already split.
    """
    pieces = [p.strip() for p in _SENTENCE_END.split(" ".join(text.split())) if p.strip()]
    out: list[str] = []
    for piece in pieces:
        if out and out[-1].endswith(_ABBREVIATIONS):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


#: ``labeler(sentences, summary, k)`` -> one label per sentence (1 = keep): the greedy oracle.
Labeler = Callable[[list[str], str, int], list[int]]


def baseline_scores(docs: list[LegalDocument], k: int = 3,
                    labeler: Labeler | None = None) -> dict[str, dict[str, float]]:
    """ROUGE of lead-k on ``docs`` and, given the oracle ``labeler``, of the oracle's extracts (the ceiling)."""
    refs = [d.summary for d in docs]
    scores = {f"lead-{k}": rouge_scores([lead_summary(d.sentences, k) for d in docs], refs)}
    if labeler is not None:
        oracle = []
        for d in docs:
            labels = labeler(list(d.sentences), d.summary, k)
            oracle.append(" ".join(s for s, keep in zip(d.sentences, labels, strict=True) if keep))
        scores["oracle"] = rouge_scores(oracle, refs)
    return scores


# --- extractive: fine-tune an encoder to score sentences ----------------------------------------------


def sentence_examples(docs: list[LegalDocument], k: int, labeler: Labeler) -> list[dict]:
    """One training row per sentence: its text and its label (1 = belongs in the summary).

    ``labeler(sentences, summary, k)`` makes the labels (the notebook passes the student's ``label_sentences``).
    """
    rows = []
    for d in docs:
        labels = [int(v) for v in labeler(list(d.sentences), d.summary, k)]
        if len(labels) != len(d.sentences):
            raise ValueError(f"labeler gave {len(labels)} labels for the {len(d.sentences)} sentences of {d.id}")
        for i, (sentence, label) in enumerate(zip(d.sentences, labels, strict=True)):
            rows.append({"doc_id": d.id, "position": i, "text": sentence, "label": label})
    return rows


def load_extractor(settings: SummarizationSettings, *, seed: int = 42) -> tuple[Any, Any]:
    """The pre-trained encoder with a new two-label head ("skip"/"keep"), and its tokenizer."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    torch.manual_seed(seed)
    source = _model_source(settings.model)
    previous = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the new head is expected; don't print a warning about it
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=2, id2label=KEEP_LABELS, label2id={v: k for k, v in KEEP_LABELS.items()})
    finally:
        hf_logging.set_verbosity(previous)
    return model, AutoTokenizer.from_pretrained(source)


def _sentence_dataset(rows: list[dict], tokenizer: Any, max_length: int) -> Any:
    from datasets import Dataset

    ds = Dataset.from_list([{"text": r["text"], "label": r["label"]} for r in rows])
    return ds.map(lambda b: tokenizer(b["text"], truncation=True, max_length=max_length),
                  batched=True, remove_columns=["text"])


def train_extractor(model: Any, tokenizer: Any, train_docs: list[LegalDocument],
                    settings: SummarizationSettings, output_dir: Path | str | None = None,
                    eval_docs: list[LegalDocument] | None = None, *, labeler: Labeler) -> Any:
    """Fine-tune the encoder as a sentence classifier on ``labeler``'s labels; returns the ``Trainer``.

    ``output_dir`` only holds the trainer's scratch files (nothing is saved): a temporary folder by default.
    """
    import torch
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    k = settings.summary_sentences
    train_rows = sentence_examples(train_docs, k, labeler)
    eval_rows = sentence_examples(eval_docs, k, labeler) if eval_docs else []
    train_ds = _sentence_dataset(train_rows, tokenizer, settings.max_length)
    eval_ds = _sentence_dataset(eval_rows, tokenizer, settings.max_length) if eval_docs else None
    args = TrainingArguments(
        output_dir=str(output_dir or small_trainers.scratch_folder("extractor-")),
        num_train_epochs=settings.num_epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=settings.learning_rate,
        weight_decay=0.01,
        warmup_steps=0.1,
        eval_strategy="epoch" if eval_ds is not None else "no",
        save_strategy="no",
        logging_strategy="epoch",
        dataloader_pin_memory=torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=True,
        seed=42,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
                      data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)
    small_trainers.train(trainer, settings.torch_threads)
    return trainer


def score_sentences(model: Any, tokenizer: Any, sentences: list[str] | tuple[str, ...],
                    max_length: int = 128) -> list[float]:
    """The model's probability that each sentence belongs in the summary."""
    import torch

    model.eval()
    batch = tokenizer(list(sentences), truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    batch = {name: tensor.to(model.device) for name, tensor in batch.items()}
    with torch.no_grad():
        probs = model(**batch).logits.softmax(-1)[:, 1]
    return [float(p) for p in probs.cpu()]


def extract_summary(sentences: list[str] | tuple[str, ...], scores: list[float], k: int = 3) -> str:
    """Keep the ``k`` best-scored sentences, in the order they appear in the document."""
    if len(scores) != len(sentences):
        raise ValueError(f"{len(scores)} scores for {len(sentences)} sentences")
    best = sorted(sorted(range(len(sentences)), key=lambda i: -scores[i])[:k])
    return " ".join(sentences[i] for i in best)


def summarize_documents(model: Any, tokenizer: Any, docs: list[LegalDocument], k: int = 3,
                        max_length: int = 128) -> list[str]:
    return [extract_summary(d.sentences, score_sentences(model, tokenizer, d.sentences, max_length), k)
            for d in docs]


def evaluate_extractive(model: Any, tokenizer: Any, docs: list[LegalDocument],
                        settings: SummarizationSettings, labeler: Labeler | None = None) -> dict:
    """ROUGE of the fine-tuned extractor and lead-k on ``docs`` (and the oracle's, given its ``labeler``)."""
    k = settings.summary_sentences
    with small_trainers.torch_threads(settings.torch_threads):
        predictions = summarize_documents(model, tokenizer, docs, k, settings.max_length)
    baselines = baseline_scores(docs, k, labeler)
    oracle = {"oracle": baselines["oracle"]} if "oracle" in baselines else {}
    return {
        "documents": len(docs),
        "scores": rouge_scores(predictions, [d.summary for d in docs]),
        "baseline": {"name": f"lead-{k}", "scores": baselines[f"lead-{k}"]},
        **oracle,
        "examples": [{"id": d.id, "reference": d.summary, "model": p, f"lead-{k}": lead_summary(d.sentences, k)}
                     for d, p in list(zip(docs, predictions, strict=True))[:3]],
    }


def results_table(result: dict) -> Any:
    """ROUGE of the model, the lead baseline and (offline) the oracle as one small table."""
    import pandas as pd

    rows = {"fine-tuned model": result["scores"], result["baseline"]["name"]: result["baseline"]["scores"]}
    if "oracle" in result:
        rows["oracle (best possible extract)"] = result["oracle"]
    return pd.DataFrame(rows).T.rename(columns={"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L"})


def settings_table() -> Any:
    """Every profile's summarisation settings as a table: one code path, three sizes."""
    import pandas as pd

    return pd.DataFrame({name: p.summarization.summary() for name, p in PROFILES.items()})


def run_extractive(settings: SummarizationSettings, output_dir: Path) -> dict:
    from finetune_kit.course import reference

    labeler = reference.load("fundamentals").label_sentences  # the instructor's answer to Part 1's exercise
    splits = legal_splits(load_legal_corpus(), settings)
    model, tokenizer = load_extractor(settings)
    start = time.perf_counter()
    trainer = train_extractor(model, tokenizer, splits["train"], settings, output_dir / "trainer",
                              eval_docs=splits["validation"], labeler=labeler)
    train_seconds = time.perf_counter() - start
    metrics = evaluate_extractive(model, tokenizer, splits["test"], settings, labeler)
    metrics.update(train_documents=len(splits["train"]), train_sentences=len(trainer.train_dataset),
                   train_seconds=round(train_seconds, 1), model_object=trainer.model)
    return metrics


# --- abstractive: fine-tune an encoder-decoder (Azure: t5-small on BillSum) ---------------------------

#: T5 was pre-trained with a task prefix; other encoder-decoders (BART, Pegasus) take the text as is.
TASK_PREFIX = {"t5-small": "summarize: ", "t5-base": "summarize: ", "google-t5/t5-small": "summarize: "}


def load_billsum(settings: SummarizationSettings, seed: int = 42) -> dict[str, Any]:
    """BillSum from the Hub (US Congressional bills with human summaries): train, validation, test.

    BillSum has no validation split, so 5 % of train becomes one; ``max_eval_docs`` trims validation
    and test so that generation during evaluation stays affordable.
    """
    from datasets import load_dataset

    raw = load_dataset(settings.dataset)
    held = raw["train"].train_test_split(test_size=0.05, seed=seed)
    out = {"train": held["train"], "validation": held["test"], "test": raw["test"]}
    if settings.max_train_docs is not None:
        out["train"] = out["train"].select(range(min(settings.max_train_docs, len(out["train"]))))
    if settings.max_eval_docs is not None:
        for name in ("validation", "test"):
            out[name] = out[name].select(range(min(settings.max_eval_docs, len(out[name]))))
    return out


def seq2seq_features(ds: Any, tokenizer: Any, settings: SummarizationSettings, prefix: str = "") -> Any:
    """Tokenise a dataset's ``text`` (model input) and ``summary`` (labels) columns, truncated per profile."""
    def preprocess(batch: dict) -> dict:
        enc = tokenizer([prefix + t for t in batch["text"]], max_length=settings.max_length, truncation=True)
        enc["labels"] = tokenizer(text_target=batch["summary"], max_length=settings.max_target_length,
                                  truncation=True)["input_ids"]
        return enc

    return ds.map(preprocess, batched=True, remove_columns=ds.column_names)


def build_seq2seq_trainer(model: Any, tokenizer: Any, train_ds: Any, eval_ds: Any,
                          settings: SummarizationSettings, output_dir: Path | str) -> Any:
    """A ``Seq2SeqTrainer`` for tokenised datasets that reports ROUGE at every evaluation.

    ``predict_with_generate`` makes evaluation *write* summaries (up to ``generation_max_length``
    tokens) instead of only computing the loss, so ROUGE is measured on what the model really writes.
    """
    import numpy as np
    import torch
    from transformers import DataCollatorForSeq2Seq, Seq2SeqTrainer, Seq2SeqTrainingArguments

    def compute_metrics(eval_pred: Any) -> dict[str, float]:
        preds, labels = eval_pred.predictions, eval_pred.label_ids
        preds = np.where(preds < 0, tokenizer.pad_token_id, preds)
        labels = np.where(labels < 0, tokenizer.pad_token_id, labels)
        return rouge_scores(tokenizer.batch_decode(preds, skip_special_tokens=True),
                            tokenizer.batch_decode(labels, skip_special_tokens=True))

    args = Seq2SeqTrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=settings.num_epochs,
        max_steps=settings.max_steps,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        weight_decay=0.01,
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="epoch",
        predict_with_generate=True,
        generation_max_length=settings.generation_max_length,
        # T5 overflows in float16 (NaN losses); bfloat16 is safe where the GPU has it, else float32
        bf16=torch.cuda.is_available() and torch.cuda.is_bf16_supported(),
        dataloader_pin_memory=torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=True,
        seed=42,
    )
    return Seq2SeqTrainer(
        model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
        data_collator=DataCollatorForSeq2Seq(tokenizer, model=model), processing_class=tokenizer,
        compute_metrics=compute_metrics,
    )


def train_abstractive(model: Any, tokenizer: Any, splits: dict[str, Any], settings: SummarizationSettings,
                      output_dir: Path | str, *, prefix: str = "") -> dict:
    """Fine-tune an encoder-decoder on ``text``/``summary`` splits; score it and lead-k on the test split."""
    features = {name: seq2seq_features(ds, tokenizer, settings, prefix) for name, ds in splits.items()}
    trainer = build_seq2seq_trainer(model, tokenizer, features["train"], features["validation"], settings, output_dir)
    start = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - start
    out = trainer.predict(features["test"])
    k = settings.summary_sentences
    leads = [lead_summary(split_sentences(text), k) for text in splits["test"]["text"]]
    return {
        "documents": len(splits["test"]),
        "scores": {name: out.metrics[f"test_{name}"] for name in ROUGE_TYPES},
        "baseline": {"name": f"lead-{k}", "scores": rouge_scores(leads, list(splits["test"]["summary"]))},
        "train_documents": len(splits["train"]),
        "train_seconds": round(train_seconds, 1),
        "model_object": trainer.model,
    }


def run_abstractive(settings: SummarizationSettings, output_dir: Path) -> dict:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    splits = load_billsum(settings)
    source = _model_source(settings.model)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSeq2SeqLM.from_pretrained(source)
    return train_abstractive(model, tokenizer, splits, settings, output_dir / "trainer",
                             prefix=TASK_PREFIX.get(settings.model, ""))


# --- one entry point for the command -----------------------------------------------------------------

RUNNERS = {"extractive": run_extractive, "abstractive": run_abstractive}


def train_and_evaluate(profile: Profile, output_dir: Path | str, *, save_model: bool = False) -> dict:
    """Fine-tune the profile's summariser, score it against lead-3 on the test split, write metrics.json."""
    settings = profile.summarization
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    metrics = RUNNERS[settings.method](settings, output_dir)
    model = metrics.pop("model_object")
    if save_model:
        model.save_pretrained(output_dir / "model")
    metrics = {"task": "legal-summarization", "profile": profile.name, "method": settings.method,
               "model": settings.model, "dataset": settings.dataset, "metric": "ROUGE F1 (%)",
               **metrics, "settings": settings.summary()}
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics
