"""The kit's offline ``accuracy``: an ``evaluate`` metric module, loaded with ``evaluate.load(<this folder>)``."""
