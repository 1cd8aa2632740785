"""The book's command-line tools, run from the repository root as ``python -m tools.NAME``:
``notebooks`` (execute, sync, check the chapter pairs), ``colab`` (the Colab notebooks and wheels),
``colab_e2e`` (the Colab launch end to end), ``student``, ``check_pages``, ``fuzz_api``."""
