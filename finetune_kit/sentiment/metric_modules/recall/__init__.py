"""The kit's offline ``recall``: an ``evaluate`` metric module, loaded with ``evaluate.load(<this folder>)``."""
