"""The kit's ``average_precision``: an ``evaluate`` metric module (``evaluate.load(<this folder>)``)."""
