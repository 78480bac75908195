"""Part 1's application tasks: which architecture fits which task, and small versions of the two that
are not classification (legal summarisation, image captioning) that learn on a laptop."""
