"""The kit's offline ``f1``: an ``evaluate`` metric module, loaded with ``evaluate.load(<this folder>)``."""
