"""One module per ``python -m finetune_kit`` command (see ``finetune_kit.cli.COMMANDS``)."""
