"""The kit's offline ``average_precision``: an ``evaluate`` metric module, loaded with ``evaluate.load(<this folder>)``."""
