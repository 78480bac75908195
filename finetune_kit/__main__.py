from finetune_kit.cli import main

raise SystemExit(main())
