"""Part 2 — The sentiment case study (source of solutions/part2_finetuning)."""

from notebook_source import answer, code, md, tests, written_code

CELLS = [
    md("""
    # Part 2 — Fine-tuning a pre-trained model: a sentiment case study

    **Goal:** turn a pre-trained language model into a classifier of customer reviews, and see with
    your own eyes why fine-tuning beats training from scratch.

    **Steps:** (1) look at the data, (2) validate and clean it, (3) split 80/10/10, (4) tokenize,
    (5) spot what is wrong with the recipe we started from, (6) fine-tune with the Hugging Face
    `Trainer`, (7) compare with the same network trained from scratch, (8) try it, (9) reflect.

    Under the `smoke` profile (grading, CI) everything is shrunk to seconds and the scores mean
    little; run with `PROFILE = "offline"` (about 10 minutes on a laptop CPU) to see real results.
    """),
    code('PROFILE = None  # or "smoke", "offline", "azure"', tags=("parameters",)),
    code("""
    import finetune_kit as fk
    from finetune_kit import data, plots, recipe, train

    profile = fk.use_profile(PROFILE)
    """),
    md("""
    ## 1. The data

    The kit ships customer reviews written for this course (`data/reviews/`, see its datasheet):
    phones, restaurants, hotels, apps, films and more, from two words to two hundred, with the hard
    cases real reviews have — negation, sarcasm, "good but…". Label 1 means positive, 0 negative.
    """),
    code("""
    reviews = data.read_reviews()
    print(f"{len(reviews)} reviews, {reviews['label'].mean():.0%} positive")
    reviews.sample(5, random_state=1)[["domain", "text", "label"]]
    """),
    code("""reviews.groupby("domain")["label"].agg(reviews="count", share_positive="mean").round(2)"""),
    md("""
    ## 2. Validate, then clean

    Real data is messy. `read_reviews` refuses a file with a missing column, an empty text, a label
    outside {0, 1} or a duplicate review, and names the row and field so you can fix it — it never
    drops rows silently. Here is what a broken file gets back:
    """),
    code("""
    import pandas as pd

    broken = pd.DataFrame({"text": ["Great fit!", "", "Great fit!", "Meh"], "label": [1, 0, 1, "positive"]})
    try:
        data.validate(broken, "my_reviews.csv")
    except data.DataError as err:
        print(err)
    """),
    md("""
    **Cleaning.** The original recipe said "remove special characters, normalise case". We clean
    less, on purpose: the tokenizer lower-cases by itself, and `!`, `?!` or `:(` carry sentiment.
    We only undo HTML left-overs (IMDB reviews contain `<br />`), normalise Unicode (curly quotes →
    straight ones, so the vocabulary knows them) and collapse whitespace.
    """),
    code("""
    for raw in ["Loved it!!<br /><br />Would buy again &amp; again :)", "“Meh”   —   not   worth   it…"]:
        print(repr(raw), "→", repr(data.clean_text(raw)))
    """),
    md("""
    ## 3. Split 80/10/10 — and keep the test split locked away

    * **train** (80 %): the model learns from it;
    * **validation** (10 %): we use it to choose the best epoch and to stop early;
    * **test** (10 %): touched once, at the very end, to estimate performance on new reviews.

    The split is *stratified* (same share of positives in each part) and *seeded* (the same every
    run). Because duplicates were rejected, no review can sit in two splits.
    """),
    code("""
    splits = data.load_splits(profile)
    print("sizes:", splits.sizes())
    for name in ("train", "validation", "test"):
        print(f"{name:>10}: {getattr(splits, name)['label'].mean():.1%} positive")
    """),
    md("""
    **Your turn.** A leak is a review that appears in more than one split: the model would be
    graded on something it studied. Write `leaked_texts(splits)` returning the **set** of texts
    that appear in two or more of `splits.train`, `splits.validation` and `splits.test`
    (each a DataFrame with a `text` column).
    """),
    answer("leaked_texts_answer", '''
    def leaked_texts(splits) -> set:
        ### BEGIN SOLUTION
        parts = [set(splits.train["text"]), set(splits.validation["text"]), set(splits.test["text"])]
        return (parts[0] & parts[1]) | (parts[0] & parts[2]) | (parts[1] & parts[2])
        ### END SOLUTION
    '''),
    tests("leaked_texts_tests", 2, """
    _found = leaked_texts(splits)
    assert type(_found) is set, "return a set of texts"
    assert _found == set(), "our split should have no leaks"
    _demo = data.Splits(pd.DataFrame({"text": ["a", "b"]}), pd.DataFrame({"text": ["b", "c"]}),
                        pd.DataFrame({"text": ["d"]}))
    assert leaked_texts(_demo) == {"b"}, "'b' is in train and validation"
    ### BEGIN HIDDEN TESTS
    _tricky = data.Splits(pd.DataFrame({"text": ["x", "y", "z"]}), pd.DataFrame({"text": ["q"]}),
                          pd.DataFrame({"text": ["z", "q", "w"]}))
    _got = leaked_texts(_tricky)
    assert type(_got) is set and all(type(t) is str for t in _got)
    assert sorted(_got) == ["q", "z"]
    assert leaked_texts(data.Splits(pd.DataFrame({"text": []}), pd.DataFrame({"text": []}),
                                    pd.DataFrame({"text": []}))) == set()
    ### END HIDDEN TESTS
    """),
    md("""
    ## 4. Tokenize — with dynamic padding

    A transformer reads token ids. Reviews have different lengths, but a batch must be a rectangle,
    so short reviews are *padded*. The original recipe padded every review to the model's maximum
    (512 tokens); we pad each batch only to its longest review (`DataCollatorWithPadding`) and group
    reviews of similar length together. Same model, same maths, far less wasted work:
    `benchmarks/train_throughput.py` measures the difference.
    """),
    code("""
    from finetune_kit import models

    tokenizer = models.load_tokenizer(profile)
    example = splits.train["text"].iloc[0]
    print(example)
    print(tokenizer.tokenize(example)[:24])
    lengths = [len(ids) for ids in tokenizer(splits.train["text"].tolist())["input_ids"]]
    print(f"tokens per review: median {sorted(lengths)[len(lengths) // 2]}, max {max(lengths)} "
          f"— padding all to 512 would make {512 * len(lengths) / sum(lengths):.0f}x the work")
    """),
    md("""
    ## 5. What is wrong with the recipe we started from?

    The worked solution of this assignment trains like this:

    ```python
    training_args = TrainingArguments(output_dir="./results", evaluation_strategy="epoch", learning_rate=2e-5,
                                      per_device_train_batch_size=16, num_train_epochs=3, weight_decay=0.01)
    trainer = Trainer(model=model, args=training_args, train_dataset=tokenized_dataset["train"],
                      eval_dataset=tokenized_dataset["test"])
    ```

    **Mistake 1 — it no longer runs.** `transformers` 5 renamed `evaluation_strategy` to
    `eval_strategy` (and `Trainer(tokenizer=...)` to `processing_class=...`). Watch it fail:
    """),
    code("print(recipe.run_original_arguments())"),
    code("print(recipe.run_fixed_arguments().eval_strategy)"),
    md("""
    **Mistake 2 — it evaluates on the test split during training.** With `eval_dataset=test`, every
    decision (which epoch is best, when to stop, which learning rate to keep) is made by looking at
    the test set, so the test score stops being an estimate for new data: it is the score we
    optimised. The simulation below makes it obvious: 20 "models" that guess at random (50 %
    accuracy) — choose the best one on the test set and it *looks* better than chance.
    """),
    code("""
    for what, value in recipe.selection_on_test().items():
        print(f"{what:<42} {value:.1%}")
    """),
    md("""
    The fix: choose on **validation**, report **test** once. That is what `train.fine_tune` does:
    `eval_strategy="epoch"` on the validation split, `load_best_model_at_end=True` with F1 as the
    selection metric, early stopping, and a single test evaluation after training.

    ## 6. Fine-tune

    One call; open `finetune_kit/train.py` to read every step (arguments, trainer, train, evaluate, save).
    """),
    code("""
    result = train.fine_tune(profile, splits, fk.config.artifact_dir(profile) / "sentiment-model")
    print("test metrics (measured once):", {k: round(v, 3) for k, v in result.metrics.items()})
    print(f"training took {result.train_seconds:.0f} s")
    """),
    md("""
    The output folder is a standard Hugging Face model directory: `from_pretrained(folder)` loads
    it back. Beside the weights: a model card (`README.md`), `metrics.json` and the training log.
    Runs are tracked with MLflow (a local `mlflow.db`, or your Azure ML workspace on Azure).

    ## 7. Pre-trained vs from scratch

    Same architecture, same data, same number of epochs — but random starting weights. This is the
    evidence behind Part 1's answer: fine-tuning reuses what pre-training learned, so it needs far
    less compute (and data) to reach a good model.
    """),
    code("""
    scratch = train.fine_tune(profile, splits, fk.config.artifact_dir(profile) / "scratch-model", pretrained=False)
    print(f"{'':>14} {'accuracy':>9} {'F1':>6}")
    for name, run in (("pre-trained", result), ("from scratch", scratch)):
        print(f"{name:>14} {run.metrics['accuracy']:>9.3f} {run.metrics['f1']:>6.3f}")
    plots.training_curves({"pre-trained": result.history, "from scratch": scratch.history});
    """),
    md("""
    ## 8. Try it

    Write your own reviews — especially the tricky kind.
    """),
    code("""
    model, tokenizer = train.load_trained(result.output_dir)
    mine = ["Not bad at all, I'd buy it again.", "Oh great, it broke on day two.",
            "The screen is gorgeous but the battery dies by noon."]
    for text, p in zip(mine, train.predict_proba(model, tokenizer, mine)):
        print(f"{p:.2f}  {'positive' if p >= 0.5 else 'negative'}  {text}")
    """),
    md("""
    ## 9. Reflection (about 200 words)

    How would you evaluate this model after fine-tuning? Name the metrics you would use and why,
    and the challenges you expect (for example: imbalanced classes, sarcasm, reviews from a domain we
    did not train on, data drift after deployment, leakage). Write it as a Python string:
    `reflection = \"\"\"your text\"\"\"`. An automatic check counts the words (180–230);
    your instructor grades the content.
    """),
    written_code("reflection_answer", 4, '''
    ### BEGIN SOLUTION
    reflection = """
    I would judge the fine-tuned model only on the test split, which took no part in training or in
    choosing the best epoch; otherwise the score would measure how well we tuned to it, not how well
    the model handles new reviews. Accuracy is a start, but it hides which errors we make, so I would
    report precision and recall of the positive class together with F1, plus a confusion matrix.
    Which error costs more depends on the business: missing an angry customer (a false positive)
    is usually worse than flagging a happy one. A precision-recall curve shows the trade-off at
    every threshold and lets us pick one on the validation split. Because a single split of a few
    hundred reviews is noisy, I would repeat training with cross-validation and report the mean and
    spread. The hard part is that our reviews are not the reviews the model will meet later: I would
    test it on real reviews from another source, look at its most confident mistakes, and measure
    accuracy by slice — domain, review length, negation, sarcasm — where models like this often fail.
    I would also check calibration, so that a score of 0.9 really means nine in ten. After deployment,
    the input changes over time, so I would log predictions and compare them with the training data
    on a schedule to catch drift before it hurts.
    """
    # Rubric (4 points): 1 test split only after model selection on validation (no leakage);
    # 1 metrics beyond accuracy (precision/recall/F1, PR curve or confusion matrix) with a reason;
    # 1 at least two concrete challenges (imbalance, sarcasm/negation, domain shift, drift, bias);
    # 1 a concrete plan to address them (cross-validation, slices, calibration, monitoring).
    ### END SOLUTION
    '''),
    tests("reflection_length", 1, """
    assert type(reflection) is str, 'write your reflection as reflection = \"\"\"...\"\"\"'
    _words = len(reflection.split())
    assert 180 <= _words <= 230, f"about 200 words please: yours has {_words}"
    """),
    md("""
    ## Check yourself

    - Why does the test split stay untouched until the end, and what did the original recipe do instead?
    - What does dynamic padding change, and what does it not change?
    - What did pre-training save us in section 7?

    Next: **Part 3**, where we measure this model properly and deploy it.
    """),
]
