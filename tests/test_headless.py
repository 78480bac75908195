"""Does the main job survive a slow machine: no fixed cell limit, live output, a rerun that resumes?"""

import io

import nbformat
import pytest

from finetune_kit.course import headless

pytestmark = pytest.mark.slow  # each test starts a kernel


def _notebook(path, *sources):
    cells = [nbformat.v4.new_code_cell('PROFILE = None', metadata={"tags": ["parameters"]}),
             *(nbformat.v4.new_code_cell(s) for s in sources)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(nb, path)
    return path


def test_output_is_shown_live_and_a_rerun_skips_what_ran_with_the_same_inputs(tmp_path):
    nb = _notebook(tmp_path / "train.ipynb", 'for epoch in (1, 2):\n    print(f"epoch {epoch}/2 under {PROFILE}")')
    out, shown, said = tmp_path / "out" / "train.ipynb", io.StringIO(), []
    headless.execute(nb, out, "smoke", show=shown, say=said.append)
    assert "  train | epoch 1/2 under smoke\n  train | epoch 2/2 under smoke\n" in shown.getvalue()
    assert (out.parent / ("train.ipynb" + headless.INPUTS_SUFFIX)).is_file() and not said
    headless.execute(nb, out, "smoke", show=shown, say=said.append)
    assert said and "already executed with the same inputs" in said[0]
    headless.execute(nb, out, "offline", show=io.StringIO(), say=said.append)  # another profile: runs again
    _notebook(nb, 'print("changed")')
    again = io.StringIO()
    headless.execute(nb, out, "offline", show=again, say=said.append)  # another notebook: runs again
    assert len(said) == 1 and "changed" in again.getvalue()


def test_a_cell_past_its_limit_names_the_notebook_and_how_to_go_on(tmp_path):
    nb = _notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(30)")
    out = tmp_path / "out" / "slow.ipynb"
    with pytest.raises(headless.NotebookFailed, match=r"slow\.ipynb: a cell ran longer than the 2 s limit") as err:
        headless.execute(nb, out, "smoke", cell_timeout=2, show=io.StringIO())
    assert "--cell-timeout, 0 for none" in str(err.value) and "already executed are skipped" in str(err.value)
    assert not (out.parent / ("slow.ipynb" + headless.INPUTS_SUFFIX)).exists()  # a rerun executes it again


def test_a_failing_cell_is_named(tmp_path):
    nb = _notebook(tmp_path / "broken.ipynb", "x = 1", "# load the model\nraise KeyError('weights')")
    named = r"broken\.ipynb: the cell starting '# load the model' \(cell 3 of the executed copy, .*\) raised KeyError"
    with pytest.raises(headless.NotebookFailed, match=named):
        headless.execute(nb, tmp_path / "out" / "broken.ipynb", "smoke", show=io.StringIO())


def test_parameters_reach_the_notebook_and_a_new_value_runs_it_again(tmp_path):
    nb = _notebook(tmp_path / "p.ipynb", 'print(f"scoring {REAL_REVIEWS}")')
    nb_source = nbformat.read(nb, as_version=4)
    nb_source.cells[0].source = "PROFILE = None\nREAL_REVIEWS = None"
    nbformat.write(nb_source, nb)
    out, said = tmp_path / "out" / "p.ipynb", []
    shown = io.StringIO()
    headless.execute(nb, out, "smoke", show=shown, say=said.append, parameters={"REAL_REVIEWS": "a.csv"})
    assert "scoring a.csv" in shown.getvalue()
    headless.execute(nb, out, "smoke", show=io.StringIO(), say=said.append, parameters={"REAL_REVIEWS": "a.csv"})
    assert len(said) == 1  # same parameters: skipped
    again = io.StringIO()
    headless.execute(nb, out, "smoke", show=again, say=said.append, parameters={"REAL_REVIEWS": "b.csv"})
    assert len(said) == 1 and "scoring b.csv" in again.getvalue()


_TINY_TRAINING = """
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
torch.manual_seed(0)
model = BertForSequenceClassification(BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1,
                                                 num_attention_heads=2, intermediate_size=8))
rows = [{"input_ids": torch.randint(0, 30, (6,)), "labels": torch.tensor(i % 2)} for i in range(40)]
args = TrainingArguments(output_dir="ckpt", max_steps=20, per_device_train_batch_size=4, logging_steps=10,
                         disable_tqdm=False, report_to="none", use_cpu=True, save_strategy="no")
Trainer(model=model, args=args, train_dataset=rows).train()
"""


def test_training_progress_reaches_the_terminal_as_plain_lines(tmp_path, capfd):
    """In a kernel the Trainer draws an HTML table, which a terminal never sees: the demo ran 7 minutes silent."""
    nb = _notebook(tmp_path / "fit.ipynb", _TINY_TRAINING)
    shown = io.StringIO()
    headless.execute(nb, tmp_path / "out" / "fit.ipynb", "offline", show=shown)
    printed = shown.getvalue()
    assert "  fit | training: 20 steps, " in printed, printed
    assert "  fit |   step 2/20 (epoch 0.20): " in printed and "left" in printed, printed
    assert "  fit |   step 20/20 (epoch 2.00): " in printed, printed
    assert "  fit |   loss " in printed and "  fit | training done: 20 steps in " in printed, printed
    assert "without encryption" not in capfd.readouterr().err  # the kernel's sockets are encrypted


def test_a_new_file_at_the_same_path_is_a_new_input(tmp_path):
    nb = _notebook(tmp_path / "p.ipynb", "pass")
    reviews = tmp_path / "real.csv"
    reviews.write_text("text,label\nGreat,1\n")
    before = headless.inputs_digest(nb, "smoke", {"REAL_REVIEWS": str(reviews)})
    assert headless.inputs_digest(nb, "smoke", {"REAL_REVIEWS": str(reviews)}) == before
    reviews.write_text("text,label\nGreat,1\nAwful,0\n")
    assert headless.inputs_digest(nb, "smoke", {"REAL_REVIEWS": str(reviews)}) != before


def test_part2_scores_its_model_on_a_file_of_real_reviews(tmp_path):
    """Step 11's last cell: a labelled file read by the kit's reader, scored with the student's own functions."""
    from conftest import ROOT

    real = tmp_path / "real.tsv"
    real.write_text("text\tlabel\nA wonderful, moving film.\t1\nDull and far too long.\t0\n"
                    "A wonderful, moving film.\t1\n", encoding="utf-8")
    shown = io.StringIO()
    out = headless.execute(ROOT / "solutions" / "part2_finetuning" / "part2_finetuning.ipynb",
                           tmp_path / "out" / "part2.ipynb", "smoke", show=shown, cwd=tmp_path,
                           parameters={"REAL_REVIEWS": str(real)})
    assert out.is_file()
    printed = shown.getvalue()
    assert "2 real reviews from" in printed and "(1 duplicate(s) scored once)" in printed, printed[-2000:]
    assert "'real_accuracy'" in printed
