"""The kit's offline ``roc_auc``: an ``evaluate`` metric module, loaded with ``evaluate.load(<this folder>)``."""
