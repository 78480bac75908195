"""A long review is read whole and in pieces, and every scoring path cuts it the same way."""

import numpy as np
import pytest

from finetune_kit.sentiment import metrics, pieces


def _words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def test_a_text_of_at_most_piece_words_is_its_only_view():
    assert pieces.views("Great phone.") == ["Great phone."]
    text = "  spaced   out\n" + _words(pieces.PIECE_WORDS - 2)  # whitespace kept: scored exactly as before
    assert pieces.views(text) == [text]


def test_a_longer_text_is_itself_then_even_pieces_that_cover_it_in_order():
    text = _words(130)
    whole, *parts = pieces.views(text)
    assert pieces.PIECE_WORDS == 60 and whole == text
    assert [len(p.split()) for p in parts] == [43, 44, 43]  # three even pieces, not 60 + 60 + a scrap of 10
    assert " ".join(parts) == text
    assert [len(p.split()) for p in pieces.views(_words(81), 80)[1:]] == [40, 41]


def test_piece_words_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        pieces.views("a b", 0)


def test_expand_lists_each_texts_views_with_its_position():
    flat, owners = pieces.expand(["short", _words(170)], 80)
    assert flat[0] == "short" and flat[1] == _words(170) and len(flat) == 5  # whole + 3 pieces
    assert owners.tolist() == [0, 1, 1, 1, 1]


def test_combine_averages_each_texts_views():
    logits = np.array([[1.0, 2.0],  # text 0: one view
                       [0.0, 4.0], [2.0, 0.0], [4.0, 2.0]])  # text 1: whole, then two pieces
    out = pieces.combine(logits, np.array([0, 1, 1, 1]), 2)
    assert out.dtype == np.float32 and out[0].tolist() == [1.0, 2.0]
    assert out[1].tolist() == pytest.approx([2.0, 2.0])
    single = np.array([[0.1234567, -7.654321]], dtype=np.float32)
    assert pieces.combine(single, np.array([0]), 1).tolist() == single.tolist()  # exactly, not nearly


def test_combine_refuses_what_expand_cannot_have_made():
    with pytest.raises(ValueError, match="3 rows of logits for 2 views"):
        pieces.combine(np.zeros((3, 2)), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="text 1 has no view"):
        pieces.combine(np.zeros((2, 2)), np.array([0, 0]), 2)
    with pytest.raises(ValueError, match="texts 0 to 2, but there are 2 texts"):
        pieces.combine(np.zeros((2, 2)), np.array([0, 2]), 2)


def test_batched_scores_longest_first_and_answers_in_the_order_asked():
    texts = ["bb", "a", "dddd", "ccc", "eeeee"]
    calls = []

    def logits_of(batch):
        calls.append(batch)
        return np.array([[len(t), -len(t)] for t in batch], dtype=np.float32)

    out = pieces.batched(texts, logits_of, 2, batch_size=2)
    assert calls == [["eeeee", "dddd"], ["ccc", "bb"], ["a"]]
    assert out[:, 0].tolist() == [2, 1, 4, 3, 5]
    assert pieces.batched([], logits_of, 2).shape == (0, 2)


def test_read_in_pieces_is_more_than_piece_words():
    assert not pieces.read_in_pieces(_words(pieces.PIECE_WORDS))
    assert pieces.read_in_pieces(_words(pieces.PIECE_WORDS + 1))


def _by_hand(logits_of, text: str) -> float:
    """P(positive) of one long text from the logits of its views, each scored alone."""
    mean = np.mean([logits_of(view) for view in pieces.views(text)], axis=0)
    return float(metrics.softmax(mean[None])[0, 1])


LONG = ("The first hour is slow and the dialogue is flat. " * 12
        + "Then it becomes a superb, moving film. " * 6).strip()  # 162 words: the whole and three pieces


def test_pytorch_scores_a_long_review_whole_and_in_pieces(fresh_model_dir):
    import torch

    from finetune_kit.sentiment import train

    model, tok = train.load_trained(fresh_model_dir)
    length = train.trained_max_length(tok)

    def logits_of(text):
        with torch.no_grad():
            return model(**tok([text], truncation=True, max_length=length, return_tensors="pt")).logits[0].numpy()

    short = "Great little phone."
    scores = train.predict_proba(model, tok, [short, LONG])
    assert len(pieces.views(LONG)) > 2
    assert scores[0] == pytest.approx(float(metrics.softmax(logits_of(short)[None])[0, 1]), abs=1e-5)
    assert scores[1] == pytest.approx(_by_hand(logits_of, LONG), abs=1e-5)


@pytest.mark.slow
def test_the_onnx_classifier_cuts_a_long_review_as_pytorch_does(fresh_model_dir, onnx_export):
    from finetune_kit.deploy import serve
    from finetune_kit.sentiment import train

    clf = serve.OnnxClassifier(onnx_export.output_dir, variant="fp32")
    texts = ["Great little phone.", LONG, "Awful."]
    onnx = clf.predict_proba(texts)[:, 1]

    def logits_of(text):  # one view, straight through the session: clf.logits would cut it again
        feed = clf.encoder([text])
        return clf.session.run(None, {name: feed[name] for name in clf.input_names})[0][0]

    assert onnx[1] == pytest.approx(_by_hand(logits_of, LONG), abs=1e-5)
    model, tok = train.load_trained(fresh_model_dir)
    assert onnx == pytest.approx(train.predict_proba(model, tok, texts, max_length=128), abs=1e-4)
