# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (finetune-kit)
#     language: python
#     name: finetune-kit
# ---

# %% [markdown]
# # Part 1 — Fundamentals of fine-tuning
#
# **Goal:** understand what fine-tuning is, what starting from a pre-trained model buys you, and how
# to pick the right pre-trained model for a task.
#
# **Steps:** (1) look inside a pre-trained model, (2) two concept checks, (3) the application task:
# choose a model for three real tasks, and prove the choice by running each architecture once.
#
# Run the cells from top to bottom (*Run → Run All Cells* works too). Cells that say
# `YOUR CODE HERE` or `YOUR ANSWER HERE` are yours; the cells after them check your work.
#
# **Which notebooks carry points.** Part 1: this notebook and `part1_applications` (same folder).
# Part 2: `part2_finetuning`. Part 3: `part3_evaluation` and `part3_deployment`. Hand in every one of
# them; each is graded on its own.

# %% [markdown]
# ## Setup
#
# The kit runs in three **profiles**: `smoke` (seconds, used when your work is graded), `offline`
# (a real pre-trained model on your laptop, no internet needed) and `azure` (the full recipe on a
# GPU in Azure ML). Leave `PROFILE = None` to let the kit choose; the next cell prints what it chose
# and why.

# %% tags=["parameters"]
PROFILE = None  # or "smoke", "offline", "azure"

# %%
import finetune_kit as fk
from finetune_kit import architectures, models

profile = fk.use_profile(PROFILE)

# %% [markdown]
# ## 1. What does "pre-trained" buy us?
#
# A pre-trained model has already learned language from millions of sentences. To make it a
# sentiment classifier we keep that body and add a small **classification head** that starts
# from random numbers. Fine-tuning then trains everything for a short while on our own labelled data.
#
# Let's load the model this profile uses and count which parameters are already trained.

# %%
model = models.load_classifier(profile)
report = models.parameter_report(model)
print(f"parameters in total       : {report['total']:>12,}")
print(f"already learned (body)    : {report['pretrained']:>12,}")
print(f"new, start random (head)  : {report['new_head']:>12,}")
print(f"share that starts random  : {report['new_head'] / report['total']:.4%}")

# %% [markdown]
# Only a tiny fraction of the model starts from zero. What that buys us is the first question below;
# the explanation comes right after it.
#
# ## 2. Concept checks
#
# Answer each question with a **plain value** in its answer cell: a capital letter as a string, such
# as `q1_benefit = "B"`. The optional picker writes your choice into the answer cell for you (in
# JupyterLab; elsewhere it shows the line to type). Only the answer cell counts: the grader re-runs
# your saved notebook from scratch and never sees the picker.
#
# **Question 1.** What is the key benefit of fine-tuning a pre-trained model?
#
# - A) It reduces the need for computational resources
# - B) It avoids using training data
# - C) It removes the need for evaluation
# - D) It simplifies deployment

# %%
fk.widgets.choice("q1_benefit", {"A": "It reduces the need for computational resources",
                                 "B": "It avoids using training data",
                                 "C": "It removes the need for evaluation",
                                 "D": "It simplifies deployment"})

# %% nbgrader={"grade": false, "grade_id": "q1_answer", "locked": false, "schema_version": 3, "solution": true}
# Your answer: one capital letter as a string, e.g. q1_benefit = "B"
### BEGIN SOLUTION
q1_benefit = "A"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "q1_tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
try:
    q1_benefit
except NameError:
    raise AssertionError("q1_benefit is not set: run the answer cell above, with the line the picker shows "
                         "(e.g. q1_benefit = \"B\") typed there if it was not written in for you") from None
assert type(q1_benefit) is str, "q1_benefit must be a string such as \"B\""
assert q1_benefit in ("A", "B", "C", "D"), "q1_benefit must be one capital letter: A, B, C or D"
### BEGIN HIDDEN TESTS
assert type(q1_benefit) is str and q1_benefit == "A"
### END HIDDEN TESTS

# %% [markdown]
# *Why fine-tuning saves compute.* One training step costs the same whether the weights start
# pre-trained or random: the forward and backward pass go through every layer either way (and
# fine-tuning usually updates all the weights, not only the new head). What pre-training saves is the
# **number of steps and labelled examples**: the body already knows language, so a few hundred steps on
# a few thousand labelled reviews are enough, where the same network trained from scratch needs far more
# data and many more steps to learn language first. Part 2 measures it.
#
# **Question 2.** Which of the following tools optimises model deployment in Azure?
#
# - A) ONNX Runtime
# - B) TensorBoard
# - C) Google Sheets
# - D) SQL Server

# %%
fk.widgets.choice("q2_deploy_tool", {"A": "ONNX Runtime", "B": "TensorBoard",
                                     "C": "Google Sheets", "D": "SQL Server"})

# %% nbgrader={"grade": false, "grade_id": "q2_answer", "locked": false, "schema_version": 3, "solution": true}
# Your answer: one capital letter as a string, e.g. q2_deploy_tool = "B"
### BEGIN SOLUTION
q2_deploy_tool = "A"
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "q2_tests", "locked": true, "schema_version": 3, "solution": false, "points": 1}
try:
    q2_deploy_tool
except NameError:
    raise AssertionError("q2_deploy_tool is not set: run the answer cell above, with the line the picker shows "
                         "(e.g. q2_deploy_tool = \"B\") typed there if it was not written in for you") from None
assert type(q2_deploy_tool) is str, "q2_deploy_tool must be a string such as \"B\""
assert q2_deploy_tool in ("A", "B", "C", "D"), "q2_deploy_tool must be one capital letter: A, B, C or D"
### BEGIN HIDDEN TESTS
assert type(q2_deploy_tool) is str and q2_deploy_tool == "A"
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Application task: pick a model for three tasks
#
# For each task below, name the pre-trained model you would start from (a real checkpoint name is
# best) and explain in two to four sentences why fine-tuning it helps. The hint: the **kind of
# output** decides the architecture.
#
# | architecture family | reads | writes | examples |
# |---|---|---|---|
# | encoder | text | one vector per token → labels | BERT, DistilBERT, RoBERTa, MiniLM |
# | encoder-decoder | text | new text | T5, BART, Pegasus, LED |
# | vision encoder + text decoder | an image | new text | ViT + GPT-2 |
#
# ### 3a. Legal-document summarisation

# %% [markdown] nbgrader={"grade": true, "grade_id": "app_legal", "locked": false, "schema_version": 3, "solution": true, "points": 2}
# **Model answer.** An encoder-decoder such as `facebook/bart-large-cnn`, `t5-base` or
# `google/pegasus-billsum` (for filings longer than 1,024 tokens, `allenai/led-base-16384`). An
# abstractive summary is *new text*, so the model needs a decoder. A BERT classifier (the encoder with
# a classification head) can only score or label existing sentences, so with it the honest option is
# an *extractive* summary (pick the most important sentences); to write with BERT, use BERT2BERT
# (`EncoderDecoderModel`: a BERT encoder and a BERT decoder warm-started from two BERT checkpoints,
# fine-tuned together). Fine-tuning helps because legal text has its own vocabulary ("indemnify",
# "hereinafter"), long sentences and a fixed structure, and because what counts as the key point of a
# clause is domain knowledge the general model has not seen; a few thousand document–summary pairs
# (e.g. BillSum) teach it far more cheaply than pre-training a new model.
#
# **Rubric (2 points).** 1 point: an encoder-decoder, BERT2BERT included (or a clearly argued
# extractive use of an encoder) — a BERT classifier for abstractive summaries earns 0 for this point.
# 1 point: a reason specific to legal text (vocabulary, length, structure, scarce labelled data).

# %% [markdown]
# ### 3b. Sentiment analysis of customer reviews

# %% [markdown] nbgrader={"grade": true, "grade_id": "app_sentiment", "locked": false, "schema_version": 3, "solution": true, "points": 2}
# **Model answer.** An encoder with a classification head: `distilbert-base-uncased` (40 % smaller
# and 60 % faster than BERT-base while keeping about 97 % of its accuracy) or `roberta-base`; offline
# in this course, the MiniLM encoder. Fine-tuning helps because the general model knows language but
# not what *positive* means for our products: sarcasm ("great, it broke on day two"), domain words
# ("runs hot", "crisp display") and our label set. A few thousand labelled reviews and minutes of
# training are enough, where training from scratch would need far more data and compute.
#
# **Rubric (2 points).** 1 point: an encoder model suited to classification. 1 point: a reason that
# names what the pre-trained model lacks (domain wording, sarcasm/negation, the label set) or the
# compute/data saving.

# %% [markdown]
# ### 3c. Image captioning

# %% [markdown] nbgrader={"grade": true, "grade_id": "app_captioning", "locked": false, "schema_version": 3, "solution": true, "points": 2}
# **Model answer.** A vision encoder + text decoder: `google/vit-base-patch16-224-in21k` as the
# encoder and `gpt2` as the decoder joined in `VisionEncoderDecoderModel` (or a ready captioner such
# as `nlpconnect/vit-gpt2-image-captioning` or BLIP). The encoder has learned to see and the decoder
# to write, but the cross-attention that connects them starts from scratch, so the pair *must* be
# fine-tuned on image–caption pairs (e.g. COCO or Flickr30k); fine-tuning also adapts it to our own
# images (products, medical scans) and caption style.
#
# **Rubric (2 points).** 1 point: an image encoder combined with a text decoder. 1 point: why
# fine-tuning is needed (new cross-attention, domain images, caption style).

# %% [markdown]
# ### 3d. Prove it: one forward pass per architecture
#
# In `transformers`, the class you load decides the architecture's *head*. Write
# `model_class_for(task)` so it returns the right class for each of the three tasks: an Auto class
# or a concrete class of the right family. The cell after it builds a tiny, randomly initialised model
# of that class and runs it once, offline.
#
# First, watch what `transformers` builds when we ask BERT to write text:

# %%
print(architectures.bert_for_summaries())

# %% [markdown]
# A plain BERT checkpoint is an encoder: the sequence-to-sequence Auto class refuses its config.
# BERT *can* write once it gets a decoder: `BertLMHeadModel` is a BERT decoder (it writes left to
# right), and BERT2BERT (`EncoderDecoderModel`) joins a BERT encoder to a BERT decoder through new
# cross-attention layers that must be fine-tuned. What cannot write a summary is a BERT
# *classifier*, the encoder with a classification head you fine-tune in Part 2: it can only score
# sentences that already exist. Now your turn:

# %%
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSeq2SeqLM,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    EncoderDecoderModel,
    VisionEncoderDecoderModel,
)


# %% nbgrader={"grade": false, "grade_id": "model_class_answer", "locked": false, "schema_version": 3, "solution": true} reference=["fundamentals.model_class_for"]
def model_class_for(task: str):
    """Return the transformers class (not a string, not an instance) to load for `task`.

    `task` is "sentiment-analysis", "legal-summarization" (an abstractive summary: new text) or
    "image-captioning". An Auto class imported in the cell above works; so does any transformers
    class of the right family (for example `BartForConditionalGeneration`).
    """
    ### BEGIN SOLUTION
    choices = {
        "sentiment-analysis": AutoModelForSequenceClassification,
        "legal-summarization": AutoModelForSeq2SeqLM,
        "image-captioning": VisionEncoderDecoderModel,
    }
    return choices[task]
    ### END SOLUTION


# %%
fk.steps.need(globals(), "model_class_for", step="3d (model_class_for)")
for task in architectures.TASKS:
    tiny = architectures.tiny_model(task, model_class_for(task))
    out = architectures.forward_once(tiny, task)
    print(f"{task:<20} {type(tiny).__name__:<36} -> {out['kind']}, shape {out['shape']}")

# %% nbgrader={"grade": true, "grade_id": "model_class_tests", "locked": true, "schema_version": 3, "solution": false, "points": 3}
import transformers as _tf

from finetune_kit import architectures as _arch

for _task in ("sentiment-analysis", "legal-summarization", "image-captioning"):
    try:
        _cls = model_class_for(_task)
    except KeyError as _err:
        raise AssertionError(f"model_class_for({_task!r}) raised KeyError {_err}: the task names are exactly "
                             "'sentiment-analysis', 'legal-summarization' and 'image-captioning'") from None
    assert _cls is not None, f"model_class_for({_task!r}) returned None: does every task's branch return a class?"
    assert isinstance(_cls, type), (f"model_class_for({_task!r}) returned {_cls!r}: return the class itself "
                                    "(e.g. AutoModelForSequenceClassification), not a string or a model")
    assert _cls is getattr(_tf, _cls.__name__, None), \
        (f"{_cls.__name__} is a class of your own: return the transformers class itself (e.g. "
         "AutoModelForSequenceClassification): the question is which of the library's classes to load")
    _writes = _task != "sentiment-analysis"
    _decoder_alone = f"{_cls.__name__} is a decoder alone: it writes, but no encoder reads " + {
        "legal-summarization": "the document first. Fine-tune an encoder-decoder for the summaries (BART, T5, "
                               "Pegasus, LED or BERT2BERT), e.g. AutoModelForSeq2SeqLM",
        "image-captioning": "the image first. A captioner joins an image encoder to a text decoder: "
                            "VisionEncoderDecoderModel"}.get(_task, "")
    assert not _writes or not any(_part in _cls.__name__ for _part in ("CausalLM", "LMHead")), _decoder_alone
    assert _task != "sentiment-analysis" or _cls.__name__.endswith("ForSequenceClassification"), \
        (f"{_cls.__name__} has no sentiment head: a review gets one verdict for the whole text, so load a "
         "sequence-classification class, e.g. AutoModelForSequenceClassification")
    assert _task != "legal-summarization" or _cls.__name__ in ("AutoModelForSeq2SeqLM", "EncoderDecoderModel") \
        or _cls.__name__.endswith("ForConditionalGeneration"), \
        (f"{_cls.__name__} is not a class to fine-tune a summariser with: use AutoModelForSeq2SeqLM, "
         "EncoderDecoderModel (BERT2BERT) or a ...ForConditionalGeneration class such as "
         "BartForConditionalGeneration")
    try:
        _tiny = _arch.tiny_model(_task, _cls)
        _out = _arch.forward_once(_tiny, _task)
    except Exception as _err:
        raise AssertionError(f"{_cls.__name__} cannot do {_task}: {type(_err).__name__}: "
                             f"{str(_err).splitlines()[0][:200]}") from None
    _want = "label scores" if _task == "sentiment-analysis" else "generated token ids"
    assert _out["kind"] == _want, f"{_task} needs a model that gives {_want}; {_cls.__name__} gives {_out['kind']}"
    assert _task != "sentiment-analysis" or len(_out["shape"]) == 2, \
        (f"{_cls.__name__} scores every token (output shape {_out['shape']}), but a review gets one verdict for "
         "the whole text: use a sequence-classification head")
    assert not _writes or getattr(_tiny.config, "is_encoder_decoder", False), _decoder_alone
### BEGIN HIDDEN TESTS
_accepted = {
    "sentiment-analysis": [
        "AutoModelForSequenceClassification",
        "BertForSequenceClassification",
        "DistilBertForSequenceClassification",
        "RobertaForSequenceClassification"
    ],
    "legal-summarization": [
        "AutoModelForSeq2SeqLM",
        "EncoderDecoderModel",
        "T5ForConditionalGeneration",
        "BartForConditionalGeneration",
        "PegasusForConditionalGeneration",
        "LEDForConditionalGeneration"
    ],
    "image-captioning": [
        "VisionEncoderDecoderModel",
        "AutoModelForImageTextToText"
    ]
}
assert len(_accepted) == 3
for _task, _names in _accepted.items():
    _cls = model_class_for(_task)
    assert type(_cls) is type and type(_cls.__name__) is str and _cls.__name__ in _names
    assert _cls is getattr(_tf, _cls.__name__)
    _out = _arch.forward_once(_arch.tiny_model(_task, _cls), _task)
    assert _out["kind"] == ("label scores" if _task == "sentiment-analysis" else "generated token ids")
    assert len(_out["shape"]) == 2 and _out["shape"][0] == 1
### END HIDDEN TESTS

# %% [markdown]
# ## Check yourself
#
# - A training step costs the same for a pre-trained and a random network: so where does fine-tuning
#   save compute?
# - Why can't a BERT classifier write an abstractive summary, and what would you use instead?
# - Which part of a ViT + GPT-2 captioner starts untrained, even when both halves are pre-trained?
#
# Want to see the other two architectures *learn*? The companion notebook
# `part1_applications.ipynb` (same folder) fine-tunes the MiniLM encoder as an extractive
# legal summariser and trains a small ViT + GPT-2 captioner, offline.
#
# Next: **Part 2**, where you fine-tune a real pre-trained model on customer reviews.
