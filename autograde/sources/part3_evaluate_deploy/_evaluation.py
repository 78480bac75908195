"""Part 3, first half: evaluating the fine-tuned model (metrics, curves, cross-validation, error
analysis, the T/F concept checks and the reflection).

Runs after the setup cells (``PROFILE``, ``import finetune_kit as fk``, ``profile = fk.use_profile``).
"""

from notebook_source import answer, code, md, tests, written_code

CELLS = [
    md("""
    ## Evaluating the model

    **Goal:** say how good the fine-tuned sentiment model from Part 2 is, **how sure** we are of that,
    and **where it fails**.

    **Steps:** (A) scores on the test split, through the Hugging Face `evaluate` library,
    (B) pictures: confusion matrix, curves, calibration, (C) choosing a threshold,
    (D) cross-validation, (E) error analysis and a bias probe, (F) concept checks and reflection.

    Under `smoke` (grading) the model has seen 96 reviews for one epoch: its scores sit near 0.5 and
    mean nothing, only the code is being checked. Run with `PROFILE = "offline"` to see real numbers
    (10 to 12 minutes for this section on a 2-core laptop CPU once Part 2's model exists, most of it
    cross-validation; about 7 more if the first cell has to train that model).
    """),
    code("""
    from finetune_kit import analysis, crossval, data, metrics, plots, train

    model_dir = train.ensure_model(profile)  # Part 2's model; trained now if you skipped Part 2
    model, tokenizer = train.load_trained(model_dir)
    splits = data.load_splits(profile)  # the same seeded 80/10/10 split as Part 2
    print(f"model: {model_dir}\\nsplit sizes: {splits.sizes()}")
    """),
    md("""
    ### A. The scores, once, on the test split

    The test split took no part in training or in choosing the best epoch, so it is our estimate of
    how the model does on reviews it has never seen. The model gives each review a **score**,
    P(positive); we call it positive when the score is at least 0.5 (the **threshold**).
    """),
    code("""
    def predict(texts):  # P(positive) for each text
        return train.predict_proba(model, tokenizer, list(texts), max_length=profile.max_length)

    y_test, test_scores = splits.test["label"].to_numpy(), predict(splits.test["text"])
    y_val, val_scores = splits.validation["label"].to_numpy(), predict(splits.validation["text"])
    """),
    md("""
    The metrics come from the Hugging Face **`evaluate`** library, the standard way to compute them
    in this ecosystem. `evaluate.load("f1")` downloads the metric's code from the Hub, which fails
    without internet, so the kit ships the same metric modules in `finetune_kit/metric_modules/`
    and loads them with `evaluate.load(<folder>)` when the Hub is out of reach. The next cell says
    where each metric came from in your run.

    | metric | question it answers |
    |---|---|
    | accuracy | what share of reviews did it get right? |
    | precision | when it says *positive*, how often is it right? |
    | recall | of the truly positive reviews, how many did it find? |
    | F1 | one number that is high only when precision **and** recall are: 2·P·R / (P + R) |
    | F1 macro | F1 of each class (positive, negative), averaged: the negative class counts as much |
    | ROC-AUC | how often a random positive review scores above a random negative one (threshold-free) |
    | average precision | the area under the precision-recall curve (threshold-free) |
    """),
    code("""
    print(metrics.metric_sources()["f1"])
    report = metrics.evaluate_scores(y_test, test_scores)
    {name: round(value, 4) for name, value in report.items()}
    """),
    md("""
    Same numbers as scikit-learn computes directly? (The kit's tests check this on many inputs.)
    """),
    code("""
    import pandas as pd

    pd.DataFrame({"evaluate": report, "scikit-learn": metrics.sklearn_metrics(y_test, test_scores)}).round(4)
    """),
    md("""
    **How sure are we?** The test split is one sample of reviews. Had we drawn another of the same
    size, the score would move. A **bootstrap** redraws the test split (with replacement) a thousand
    times and reports the range that holds 95 % of the results:
    """),
    code("""
    for name in ("accuracy", "f1"):
        low, high = metrics.bootstrap_interval(y_test, test_scores, name)
        print(f"{name:>8}: {report[name]:.3f}, 95% interval {low:.3f} to {high:.3f} ({len(y_test)} test reviews)")
    """),
    md("""
    With a few hundred test reviews the interval is several points wide: two models whose scores
    differ by less than that are not shown to differ.

    **Your turn (1).** F1 comes straight from the confusion counts: true positives (TP), false
    positives (FP) and false negatives (FN). Write `f1_from_counts(tp, fp, fn)` returning
    F1 = 2·TP / (2·TP + FP + FN) as a **Python `float`**, and `0.0` when TP, FP and FN are all zero.
    """),
    answer("p3_f1_answer", '''
    def f1_from_counts(tp, fp, fn):
        ### BEGIN SOLUTION
        denominator = 2 * tp + fp + fn
        return float(2 * tp / denominator) if denominator else 0.0
        ### END SOLUTION
    '''),
    tests("p3_f1_tests", 2, """
    _counts = metrics.confusion_counts(y_test, (test_scores >= 0.5).astype(int))
    _mine = f1_from_counts(_counts["tp"], _counts["fp"], _counts["fn"])
    assert type(_mine) is float, f"return a Python float, not {type(_mine).__name__}"
    assert abs(_mine - report["f1"]) < 1e-9, "your F1 differs from the one evaluate computed on our test split"
    assert f1_from_counts(0, 0, 0) == 0.0, "with no positives at all, return 0.0"
    ### BEGIN HIDDEN TESTS
    import numpy as _np

    _rng = _np.random.default_rng(20240611)
    for _tp, _fp, _fn in _rng.integers(0, 40, size=(25, 3)).tolist():
        _got = f1_from_counts(_tp, _fp, _fn)
        assert type(_got) is float
        _precision = _tp / (_tp + _fp) if _tp + _fp else 0.0
        _recall = _tp / (_tp + _fn) if _tp + _fn else 0.0
        _want = 2 * _precision * _recall / (_precision + _recall) if _precision + _recall else 0.0
        assert abs(_got - _want) < 1e-12, (_tp, _fp, _fn)
    assert abs(f1_from_counts(3, 1, 2) - 2 / 3) < 1e-12
    assert type(f1_from_counts(_np.int64(4), _np.int64(2), _np.int64(2))) is float  # NumPy counts in
    assert type(f1_from_counts(0, 5, 0)) is float and f1_from_counts(0, 5, 0) == 0.0
    assert f1_from_counts(7, 0, 0) == 1.0
    ### END HIDDEN TESTS
    """),
    md("""
    ### B. Pictures

    Six pictures of the same test scores. Read them left to right:

    * **confusion matrix**: the four kinds of outcome at threshold 0.5 — the off-diagonal cells are
      the mistakes (false positives top right, false negatives bottom left);
    * **precision-recall curve** and **ROC curve**: every threshold at once; the dot is 0.5. Both
      are summarised by the threshold-free metrics above (average precision, ROC-AUC);
    * **reliability diagram**: does a score of 0.9 mean "positive 9 times in 10"? Points on the
      diagonal are *calibrated*; fine-tuned models are often over-confident;
    * **score histogram**: the scores of truly negative and truly positive reviews; where they
      overlap, no threshold can be right for both (log scale: a few reviews still show);
    * **choosing a threshold**: precision, recall and F1 as the threshold moves.
    """),
    code("""
    plots.evaluation_dashboard(y_test, test_scores, title=f"Test split, {profile.name} profile");
    """),
    md("""
    The command line draws the same pictures for any labelled CSV, as PNG files:
    `python -m finetune_kit evaluate --model DIR --data FILE.csv --output OUT.json --plots DIR`.

    ### C. Choosing a threshold — on validation, never on test

    0.5 is a convention, not a law. A shop that must catch nearly every unhappy customer wants high
    recall of the negative class; one that sends a thank-you voucher to positive reviewers wants high
    precision. Choosing the threshold is a training decision, so it is made on the **validation**
    split — choosing it on test would be the leak Part 2 warned about.

    **Your turn (2).** Write `threshold_for_recall(y_true, scores, target_recall)`: the **highest**
    threshold `t` such that calling every review with `score >= t` positive finds at least
    `target_recall` of the truly positive reviews (`0 < target_recall <= 1`). Return `t` as a
    **Python `float`**; it is always one of the scores. `y_true` holds 0/1 labels, `scores` numbers
    between 0 and 1 (lists or NumPy arrays). *Hint:* sort the positives' scores from high to low.
    """),
    answer("p3_threshold_answer", '''
    def threshold_for_recall(y_true, scores, target_recall):
        ### BEGIN SOLUTION
        import math

        positives = sorted((float(s) for s, y in zip(scores, y_true) if y == 1), reverse=True)
        needed = max(1, math.ceil(target_recall * len(positives) - 1e-9))
        return positives[needed - 1]
        ### END SOLUTION
    '''),
    tests("p3_threshold_tests", 2, """
    def _recall_at(y, s, t):
        hits = [si >= t for si, yi in zip(s, y) if yi == 1]
        return sum(hits) / len(hits)

    _y, _s = [1, 0, 1, 1, 0, 1], [0.9, 0.8, 0.7, 0.4, 0.3, 0.2]
    _t = threshold_for_recall(_y, _s, 0.5)
    assert type(_t) is float, f"return a Python float, not {type(_t).__name__}"
    assert _t in _s, "the threshold should be one of the scores"
    assert _recall_at(_y, _s, _t) >= 0.5, "at your threshold fewer than half of the positives are found"
    _val_t = threshold_for_recall(y_val, val_scores, 0.9)
    assert type(_val_t) is float and _recall_at(y_val, val_scores, _val_t) >= 0.9
    ### BEGIN HIDDEN TESTS
    import numpy as _np

    def _check(y, s, target):
        t = threshold_for_recall(y, s, target)
        assert type(t) is float, type(t)
        assert any(abs(t - float(v)) < 1e-12 for v in s), "not one of the scores"
        assert _recall_at(y, s, t) >= target - 1e-12, "recall below target"
        higher = sorted({float(v) for v in s if float(v) > t})
        assert not higher or _recall_at(y, s, higher[0]) < target - 1e-12, "a higher threshold also works"

    _rng = _np.random.default_rng(7)
    for _ in range(30):
        _n = int(_rng.integers(5, 60))
        _yy = _rng.integers(0, 2, _n)
        _yy[0] = 1
        _ss = _np.round(_rng.random(_n), 2)  # rounded: ties happen
        for _target in (0.1, 0.5, 0.8, 0.9, 0.95, 1.0):
            _check(_yy.tolist(), _ss.tolist(), _target)
            _check(_yy, _ss, _target)  # NumPy arrays in, a Python float out
    _check([1, 1, 1, 0], [0.3, 0.3, 0.3, 0.9], 1.0)
    _check([1, 0, 1, 0, 1, 1, 0, 1, 0, 1], [0.95, 0.9, 0.85, 0.6, 0.55, 0.5, 0.4, 0.3, 0.2, 0.1], 0.9)
    ### END HIDDEN TESTS
    """),
    md("""
    Use it the right way round: choose on validation, then measure once on test. Recall holds up
    roughly on test, and precision is what we pay for it:
    """),
    code("""
    chosen = threshold_for_recall(y_val, val_scores, 0.95)
    at_chosen = metrics.evaluate_scores(y_test, test_scores, threshold=chosen)
    print(f"threshold {chosen:.3f} (chosen on validation for 95% recall) on test: "
          f"recall {at_chosen['recall']:.3f}, precision {at_chosen['precision']:.3f}, F1 {at_chosen['f1']:.3f}")
    """),
    md("""
    ### D. Cross-validation: is the test score luck?

    One split gives one number; another seed would give another. **Stratified k-fold
    cross-validation** cuts the data into k parts with the same share of positives, trains k models
    — each on k−1 parts — and scores each on the part it did not see. The **mean** is a steadier
    estimate than any single split, and the **standard deviation** between folds says how much a
    single split could have misled us.

    Two rules keep it honest:

    * it uses **train + validation only**: the test split stays locked away, so it can still give
      one unbiased number for the model we ship at the end;
    * inside each fold, the held-out part **plays validation** — nothing is chosen by looking at test.

    **The cost:** k trainings instead of one. Five runs of Part 2's full recipe would take about five
    times its training time, so on a laptop CPU the `offline` profile trains each fold for 1 epoch
    instead of 3; on an Azure GPU the `azure` profile repeats the full recipe.

    **Your turn (3).** Stratifying is simple enough to write yourself. Write
    `stratified_split(labels, test_fraction, seed=0)` returning `(train_idx, test_idx)`: two **lists
    of `int`** positions into `labels` that together contain every position exactly once, where for
    each label value about `test_fraction` of its positions (rounded, so within one) go to `test_idx`.
    Shuffle each label's positions with `random.Random(seed)` first, so the split is random but the
    same seed gives the same split. Labels can be any values (`0`/`1`, `"pos"`/`"neg"`, …).
    """),
    answer("p3_split_answer", '''
    import random


    def stratified_split(labels, test_fraction, seed=0):
        ### BEGIN SOLUTION
        rng = random.Random(seed)
        positions = {}
        for i, label in enumerate(labels):
            positions.setdefault(label, []).append(i)
        train_idx, test_idx = [], []
        for label in positions:
            group = positions[label]
            rng.shuffle(group)
            n_test = round(test_fraction * len(group))
            test_idx += group[:n_test]
            train_idx += group[n_test:]
        return sorted(train_idx), sorted(test_idx)
        ### END SOLUTION
    '''),
    tests("p3_split_tests", 2, """
    _labels = splits.train["label"].tolist()
    _tr, _te = stratified_split(_labels, 0.25, seed=1)
    assert type(_tr) is list and type(_te) is list, "return two lists"
    assert all(type(i) is int for i in _tr + _te), "positions must be Python ints"
    assert sorted(_tr + _te) == list(range(len(_labels))), "every position exactly once"
    for _label in (0, 1):
        _share = sum(_labels[i] == _label for i in _te) / max(1, sum(l == _label for l in _labels))
        assert abs(_share - 0.25) < 0.1, f"label {_label}: {_share:.0%} of it went to test, not about 25%"
    ### BEGIN HIDDEN TESTS
    from collections import Counter as _Counter

    import numpy as _np

    def _check_split(labels, fraction, seed):
        tr, te = stratified_split(labels, fraction, seed=seed)
        assert type(tr) is list and type(te) is list
        assert all(type(i) is int for i in tr + te)
        assert sorted(tr + te) == list(range(len(labels)))
        counts, in_test = _Counter(labels), _Counter(labels[i] for i in te)
        for lab, n in counts.items():
            assert abs(in_test[lab] - fraction * n) < 1 + 1e-9, (lab, in_test[lab], fraction * n)
        return te

    _rng = _np.random.default_rng(11)
    _imbalanced = [1] * 180 + [0] * 20
    _check_split(_imbalanced, 0.1, 0)
    _three = [str(x) for x in _rng.choice(["pos", "neg", "mixed"], size=157, p=[0.6, 0.3, 0.1])]
    _check_split(_three, 0.3, 5)
    _random_labels = _rng.integers(0, 2, 300).tolist()
    _a = _check_split(_random_labels, 0.2, 1)
    _b = _check_split(_random_labels, 0.2, 2)
    assert _a == _check_split(_random_labels, 0.2, 1), "the same seed must give the same split"
    assert _a != _b, "different seeds should shuffle differently"
    _ = _check_split([0, 1], 0.5, 3)
    ### END HIDDEN TESTS
    """),
    md("""
    The kit's `crossval.stratified_folds` does the same k times with scikit-learn's `StratifiedKFold`.
    Now the real thing (under `offline` this is the long cell: a line per fold as it goes):
    """),
    code("""
    print(f"{profile.cv_folds} folds, because: {crossval.budget(profile).why}")
    cv = crossval.cross_validate(profile)
    print(cv.describe_cost(model_dir))
    """),
    code("""
    cv.compare(report).round(3)
    """),
    code("""
    plots.cross_validation(cv.folds, single=report);
    """),
    md("""
    How to read it: each dot — and the worst and best fold in the table — is what **one** split would
    have told you. The spread between folds is how much luck sits in any single split; compare it
    with the bootstrap interval of section A. Under `offline` each fold trains 1 epoch instead of 3,
    so the folds' *level* sits below the single split's (×): that gap is the price of fewer epochs,
    not luck. Under `azure`, where every fold repeats the full recipe, the single split's score
    should land among the folds'.

    ### E. Where does it fail?

    A single number hides *which* reviews go wrong. Start with the mistakes the model was surest of —
    read them: some are the model's fault, some are hard (sarcasm, reviews that change their mind),
    and some may be labels you disagree with.
    """),
    code("""
    pd.set_option("display.max_colwidth", 200)
    errors = analysis.predictions_frame(splits.test, test_scores)
    analysis.confident_mistakes(errors, 5)
    """),
    md("""
    **Accuracy by slice**: by domain, review length, whether the review contains a negation
    ("not", "never", "didn't") and whether it contains a contrast word ("but", "however",
    "although"). The whiskers are 95 % intervals: a slice of 20 reviews with one mistake is 95 %
    accurate, give or take ten points, so do not over-read small slices.
    """),
    code("""
    slices = analysis.slice_report(errors)
    plots.slice_accuracy(slices, overall=report["accuracy"]);
    """),
    code("""
    slices.round(3)
    """),
    md("""
    **A bias probe.** The sentiment of a review should not depend on *who* it is about. We put
    identity terms into the same short reviews — "my husband" / "my wife", "John" / "Aisha",
    "he" / "she", … — and swap gendered words inside real test reviews, then count how often the
    predicted label **flips** and how far the score moves. A flip on a borderline review is a warning
    sign worth investigating; many flips would be a reason not to ship.
    """),
    code("""
    probe = analysis.bias_probe(predict, splits.test["text"])
    bias = analysis.bias_summary(probe)
    plots.bias_probe(bias);
    """),
    code("""
    probe.sort_values("change", key=abs, ascending=False)[["text_a", "text_b", "score_a", "score_b"]].head(5).round(3)
    """),
    md("""
    A probe like this can show a problem; it cannot prove there is none. Twelve templates and eight
    name pairs are a start, not an audit.

    ### F. Concept checks

    The assignment asks these at the end of Part 3. Answer with `True` or `False` (no quotes).

    **Question 1.** Fine-tuning eliminates the need for evaluation metrics.
    """),
    code("""fk.widgets.choice("p3_tf1", {True: "True", False: "False"})"""),
    answer("p3_tf1_answer", """
    # Type True or False (no quotes)
    ### BEGIN SOLUTION
    p3_tf1 = False
    ### END SOLUTION
    """),
    tests("p3_tf1_tests", 1, """
    assert type(p3_tf1) is bool, "p3_tf1 must be True or False, without quotes"
    ### BEGIN HIDDEN TESTS
    assert p3_tf1 is False
    ### END HIDDEN TESTS
    """),
    md("""
    **Question 2.** Azure Machine Learning provides tools for real-time monitoring of deployed models.
    """),
    code("""fk.widgets.choice("p3_tf2", {True: "True", False: "False"})"""),
    answer("p3_tf2_answer", """
    # Type True or False (no quotes)
    ### BEGIN SOLUTION
    p3_tf2 = True
    ### END SOLUTION
    """),
    tests("p3_tf2_tests", 1, """
    assert type(p3_tf2) is bool, "p3_tf2 must be True or False, without quotes"
    ### BEGIN HIDDEN TESTS
    assert p3_tf2 is True
    ### END HIDDEN TESTS
    """),
    md("""
    *What "monitoring" means in Azure ML.* A managed online endpoint sends its **metrics** —
    requests per minute, latency, errors, CPU/GPU and memory use — to Azure Monitor minute by minute,
    and its **logs** (container console, traffic and event logs) to Log Analytics: close to real
    time, with alerts. **Model monitoring** is different: data drift, prediction drift and data-quality
    checks compare the requests the endpoint collected with the training data in a **scheduled job**
    (daily, for example). So the endpoint's health is watched live; whether the *inputs* have drifted
    away from what the model learned is checked on a schedule.

    ### G. Reflection (150–200 words)

    Discuss why evaluating a fine-tuned model with metrics like **F1** and with **cross-validation**
    matters, and give concrete examples of what goes wrong when evaluation is skipped or done
    badly. Use what you saw above (numbers, slices, the probe). Write it as a Python string:
    `reflection_p3 = \"\"\"your text\"\"\"`. An automatic check counts the words (150–200); your
    instructor grades the content.
    """),
    written_code("p3_reflection_answer", 4, '''
    ### BEGIN SOLUTION
    reflection_p3 = """Accuracy alone can flatter a model. If 90% of incoming reviews are positive, a
    model that always answers "positive" scores 90% accuracy while finding none of the complaints; F1 of
    the negative class is zero and macro F1 falls to 0.47, which exposes it. F1 matters because it is
    high only when precision and recall both are, and the confusion matrix shows which mistake we make
    more often. One test split is also only one sample: with a few hundred test reviews, the bootstrap
    interval of accuracy spans about four points, so a one-point gain between two models is noise.
    Cross-validation retrains on k folds of train and validation, giving a mean and a standard
    deviation, while the test split stays untouched until the end. Skipping this causes real failures:
    tuning the threshold or the epoch on the test split reports a score we optimised, not one we will
    see; in my run a single good number hid that restaurant reviews and short reviews were weaker than
    average, and the bias probe flipped one review from positive to negative when "James" became
    "Mohammed". Without slices and probes, such problems reach customers first.
    """
    # Rubric (4 points):
    # 1 why F1 (or precision/recall) over accuracy, with a concrete case (imbalance, one class missed);
    # 1 what cross-validation adds (mean and spread over folds, test split kept for the end) and its cost;
    # 1 at least two concrete pitfalls of skipped or poor evaluation (test-set tuning/leakage, noise of a
    #   small test set, hidden weak slices, bias, miscalibration, drift after deployment);
    # 1 grounded in this notebook's evidence (numbers, slices, the probe), not generic statements.
    ### END SOLUTION
    '''),
    tests("p3_reflection_length", 1, """
    assert type(reflection_p3) is str, 'write your reflection as reflection_p3 = \"\"\"...\"\"\"'
    _words = len(reflection_p3.split())
    assert 150 <= _words <= 200, f"150 to 200 words please: yours has {_words}"
    """),
]
