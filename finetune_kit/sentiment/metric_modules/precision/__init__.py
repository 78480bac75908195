"""The kit's offline ``precision``: an ``evaluate`` metric module, loaded with ``evaluate.load(<this folder>)``."""
