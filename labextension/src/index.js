// JupyterLab side of finetune_kit.widgets.choice.
//
// When a student picks an option, the kernel opens a comm on the target below with
// {name, line} (e.g. {name: "q1_benefit", line: "q1_benefit = 'A'"}). This plugin finds the
// notebook's answer cell for `name` (the nbgrader solution cell that mentions it, else the cell that
// assigns it) and writes the line there, through the notebook model, as if the student had typed it.
// Grading never sees any of this: it re-runs the saved notebook, answer cell included.
import { INotebookTracker } from '@jupyterlab/notebook';

const TARGET = 'finetune_kit.answer';
const PLACEHOLDER = /^\s*(# YOUR CODE HERE|raise NotImplementedError\(\))\s*$/;

function assignment(name) {
  return new RegExp('^[ \\t]*' + name + '[ \\t]*=.*$', 'm');
}

function answerCell(notebook, name) {
  const cells = notebook.widgets.filter(cell => cell.model.type === 'code');
  const source = cell => cell.model.sharedModel.getSource();
  const isSolution = cell => {
    const meta = cell.model.getMetadata('nbgrader');
    return Boolean(meta && meta.solution);
  };
  return (
    cells.find(cell => isSolution(cell) && source(cell).includes(name)) ||
    cells.find(cell => assignment(name).test(source(cell)))
  );
}

export function withAnswer(source, name, line) {
  if (assignment(name).test(source)) {
    return source.replace(assignment(name), line);
  }
  const kept = source.split('\n').filter(text => !PLACEHOLDER.test(text));
  while (kept.length && kept[kept.length - 1].trim() === '') {
    kept.pop();
  }
  kept.push(line);
  return kept.join('\n');
}

function watch(panel) {
  const connect = () => {
    const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
    if (!kernel) {
      return;
    }
    kernel.registerCommTarget(TARGET, (comm, msg) => {
      const { name, line } = msg.content.data;
      const cell = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? answerCell(panel.content, name) : undefined;
      if (cell) {
        const shared = cell.model.sharedModel;
        shared.setSource(withAnswer(shared.getSource(), name, line));
      }
      comm.send({ written: Boolean(cell) });
      comm.close();
    });
  };
  panel.sessionContext.kernelChanged.connect(connect);
  panel.sessionContext.ready.then(connect);
}

export default {
  id: 'finetune-kit-answers:plugin',
  description: 'Writes a concept-check choice made in finetune_kit.widgets.choice into its answer cell.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app, tracker) => {
    tracker.widgetAdded.connect((_, panel) => watch(panel));
    tracker.forEach(watch);
  }
};
